package trivia_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/trivia"
	"github.com/roseybot/rosey/protocol"
)

// A one-question game with a question given in code, answered in chat.
func Example() {
	dir, _ := os.MkdirTemp("", "trivia-example")
	defer os.RemoveAll(dir)

	p := trivia.New(trivia.Config{
		Questions:    []trivia.Question{{Category: "demo", Question: "What is 6 times 7?", Answer: "42", Alternatives: []string{"forty-two"}}},
		OnlyCustom:   true,
		QuestionTime: trivia.Duration(time.Minute),
		Now:          func() time.Time { return time.Unix(0, 0) }, // instant answers score 10
	})
	cfg := rosey.Config{Plugins: []plugin.Plugin{p}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = dir
	bot := rosey.New(cfg)
	ctx := context.Background()
	if err := bot.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Stop(ctx)

	lines := make(chan string, 10)
	bot.Bus().Subscribe(protocol.SendChat, func(_ context.Context, ev *eventbus.Event) {
		var m protocol.SendChatRequest
		_ = ev.Decode(&m)
		lines <- m.Message
	})
	_ = bot.Bus().Flush(ctx)
	say := func(user, line string) {
		_ = bot.Bus().Publish(ctx, protocol.Chat, protocol.ChatMessage{User: user, Message: line, Channel: "example"})
	}
	next := func() {
		select {
		case l := <-lines:
			fmt.Println(l)
		case <-time.After(10 * time.Second):
			fmt.Println("nothing said")
		}
	}

	say("alice", "!trivia start demo")
	next()
	next()
	say("bob", "Forty two!")
	next()
	next()
	// Output:
	// 🧠 Trivia! 1 question about demo, started by alice. Answer in chat or with !a <answer>.
	// ❓ [1/1] (demo) What is 6 times 7?
	// ✅ bob got it! The answer was: 42 (+10, 10 this game)
	// 🏁 Trivia over! Scores: bob 10
}
