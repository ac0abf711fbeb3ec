package countdown_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/countdown"
	"github.com/roseybot/rosey/protocol"
)

// A countdown created and queried in chat, on a fixed clock.
func Example() {
	dir, _ := os.MkdirTemp("", "countdown-example")
	defer os.RemoveAll(dir)

	now := func() time.Time { return time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC) }
	cfg := rosey.Config{Plugins: []plugin.Plugin{countdown.New(countdown.Config{Now: now})}, Components: rosey.CoreComponents()}
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

	say("alice", "!countdown gifts 2026-12-24 18:00")
	say("bob", "!countdown gifts")
	say("bob", "!countdown list")
	// Output:
	// ✅ Countdown gifts set for Thu 2026-12-24 18:00 UTC (in 6h)
	// ⏳ gifts: 6h left (Thu 2026-12-24 18:00 UTC)
	// ⏳ Countdowns: gifts in 6h
}
