package quotedb_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/quotedb"
	"github.com/roseybot/rosey/protocol"
)

// A bot with the quote-db plugin, driven by chat lines on the bus.
func Example() {
	dir, _ := os.MkdirTemp("", "quotedb-example")
	defer os.RemoveAll(dir)

	cfg := rosey.Config{Plugins: []plugin.Plugin{quotedb.New(quotedb.Config{})}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = dir
	bot := rosey.New(cfg)
	ctx := context.Background()
	if err := bot.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Stop(ctx)

	replies := make(chan string, 10)
	bot.Bus().Subscribe(protocol.SendChat, func(_ context.Context, ev *eventbus.Event) {
		var m protocol.SendChatRequest
		_ = ev.Decode(&m)
		replies <- m.Message
	})
	_ = bot.Bus().Flush(ctx)
	say := func(user, line string) {
		_ = bot.Bus().Publish(ctx, protocol.Chat, protocol.ChatMessage{User: user, Message: line, Channel: "example"})
		select {
		case r := <-replies:
			fmt.Println(r)
		case <-time.After(10 * time.Second):
			fmt.Println("no reply")
		}
	}

	say("alice", "!quote add Hello! -- bob")
	say("carol", "!quote 1")
	say("carol", "!quote count")
	// Output:
	// ✅ Added quote #1
	// Quote #1: 'Hello!' - bob
	// 📚 There is 1 quote.
}
