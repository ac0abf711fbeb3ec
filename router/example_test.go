package router_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// upper answers !upper <text>.
type upper struct{}

func (upper) Info() plugin.Info {
	return plugin.Info{Name: "upper", Version: "1.0.0", Commands: []plugin.Command{{Name: "upper", Aliases: []string{"up"}}}}
}

func (upper) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("upper", func(_ context.Context, req *plugin.Request) (string, error) {
		return strings.ToUpper(req.Text), nil
	})
	return nil
}

func (upper) Stop(context.Context) error { return nil }

// A router turns chat lines (cytube.chat, cytube.pm) into plugin commands
// and sends each answer back where the command came from. Here it routes by
// a Manager's directory; with a nil directory it discovers plugins over
// NATS on its own.
func ExampleNew() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)

	m, _ := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	_ = m.Register(upper{})
	_ = m.Start(ctx)
	defer m.Stop(ctx)

	r, err := router.New(bus, m.Directory(), router.Config{
		Prefix:         "?",
		UnknownCommand: "No {command} here.",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = r.Start(ctx)
	defer r.Stop(ctx)

	// Stand in for the connector: print what the bot sends.
	out := make(chan string, 4)
	_, _ = bus.Subscribe("cytube.send.*", func(_ context.Context, ev *eventbus.Event) {
		if ev.Subject == protocol.SendPM {
			var pm protocol.SendPMRequest
			_ = ev.Decode(&pm)
			out <- "PM to " + pm.To + ": " + pm.Message
			return
		}
		var c protocol.SendChatRequest
		_ = ev.Decode(&c)
		out <- "chat: " + c.Message
	})
	_ = bus.Flush(ctx)

	say := func(subject, line string) {
		_ = bus.Publish(ctx, subject, protocol.ChatMessage{User: "alice", Message: line, Channel: "lobby"})
	}
	say(protocol.Chat, "just chatting") // not a command: ignored
	say(protocol.Chat, "?UP hello")     // command words are case-insensitive
	fmt.Println(<-out)
	say(protocol.PM, "?upper a secret") // a PM is answered by PM
	fmt.Println(<-out)
	say(protocol.Chat, "?frobnicate") // unknown
	fmt.Println(<-out)
	// Output:
	// chat: HELLO
	// PM to alice: A SECRET
	// chat: No frobnicate here.
}
