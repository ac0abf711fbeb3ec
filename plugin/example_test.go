package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// greeter is a complete plugin: Info says what it offers, Start registers
// its handlers, Stop undoes Start.
type greeter struct{ greeting string }

func (g *greeter) Info() plugin.Info {
	return plugin.Info{
		Name:        "greeter",
		Version:     "1.0.0",
		Description: "Greets people",
		Commands: []plugin.Command{
			{Name: "hi", Usage: "[name]", Description: "Says hello", Aliases: []string{"hello"}},
			{Name: "secret", MinRank: protocol.RankModerator, Cooldown: time.Minute},
		},
	}
}

func (g *greeter) Start(_ context.Context, h *plugin.Host) error {
	cfg := struct {
		Greeting string `json:"greeting"`
	}{Greeting: "Hello"}
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	g.greeting = cfg.Greeting
	h.Handle("hi", func(_ context.Context, req *plugin.Request) (string, error) {
		who := req.User
		if len(req.Args) > 0 {
			who = req.Args[0]
		}
		return fmt.Sprintf("%s, %s!", g.greeting, who), nil
	})
	h.Handle("secret", func(context.Context, *plugin.Request) (string, error) { return "🤫", nil })
	return nil
}

func (g *greeter) Stop(context.Context) error { return nil }

// ask sends a command request to a plugin over the bus, as the router does.
func ask(ctx context.Context, bus *eventbus.Bus, name string, req plugin.Request) string {
	ev, err := bus.Request(ctx, protocol.PluginCommand(name), req)
	if err != nil {
		return err.Error()
	}
	var rep plugin.Response
	if err := ev.Decode(&rep); err != nil {
		return err.Error()
	}
	if rep.Error != "" {
		return "error: " + rep.Error
	}
	return rep.Result
}

// Run starts a plugin on a connection the program already has, as a NATS
// micro service answering plugin.<name>.command; Stop ends it. (A bot
// runs its plugins with package plugin/supervisor; a plugin binary uses
// Serve.)
func ExampleRun() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)

	in, err := plugin.Run(ctx, &greeter{}, bus, plugin.RunConfig{Config: json.RawMessage(`{"greeting": "Howdy"}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Info().Name)
	fmt.Println(ask(ctx, bus, "greeter", plugin.Request{Command: "hi", User: "alice"}))
	fmt.Println(ask(ctx, bus, "greeter", plugin.Request{Command: "hello", Args: []string{"bob"}}))
	fmt.Println(in.Stop(ctx))
	// Output:
	// greeter
	// Howdy, alice!
	// Howdy, bob!
	// <nil>
}

// calc shows what a handler's result and errors become.
type calc struct{}

func (calc) Info() plugin.Info {
	return plugin.Info{Name: "calc", Version: "1.0.0", Commands: []plugin.Command{{Name: "half", Usage: "<number>"}}}
}

func (c calc) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("half", func(ctx context.Context, req *plugin.Request) (string, error) {
		switch {
		case len(req.Args) != 1:
			return "", plugin.Usage(c.Info().Commands[0]) // shown to the user
		case req.Args[0] == "π":
			return "", plugin.UserError("❌ %s, π is too irrational to halve.", req.User) // shown as is
		case req.Args[0] == "∞":
			return "", errors.New("overflow in the half-o-tron") // logged; the user gets a short apology
		}
		return strings.Repeat("½", len(req.Args[0])), nil
	})
	return nil
}

func (calc) Stop(context.Context) error { return nil }

// Handle registers a command handler. A plain result is the answer; an
// error made with UserError or Usage is shown to the user; any other
// error is logged and answered with "internal error".
func ExampleHost_Handle() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)
	in, _ := plugin.Run(ctx, calc{}, bus, plugin.RunConfig{})
	defer in.Stop(ctx)

	for _, args := range [][]string{{"42"}, {}, {"π"}, {"∞"}} {
		fmt.Println(ask(ctx, bus, "calc", plugin.Request{Command: "half", Args: args, User: "alice"}))
	}
	// Output:
	// ½½
	// error: ❌ Usage: !half <number>
	// error: ❌ alice, π is too irrational to halve.
	// error: internal error
}

// ServeContext runs a plugin on its own connection, as an external plugin
// process does (its main calls plugin.Serve, which reads -nats and the
// ROSEY_* environment and then calls ServeContext).
func ExampleServeContext() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bot, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bot.Close(ctx)

	// The bot side sees the plugin announce itself.
	started := make(chan string, 1)
	_, _ = bot.Subscribe("platform.plugin.*.started", func(_ context.Context, ev *eventbus.Event) { started <- ev.Subject })
	_ = bot.Flush(ctx)

	// The plugin side. With a real process, Bus would be
	// eventbus.Config{URLs: []string{"nats://bot-host:4222"}}.
	pctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- plugin.ServeContext(pctx, &greeter{}, plugin.ServeConfig{
			Bus:    srv.BusConfig(""),
			Config: []byte(`{"greeting": "Hi there"}`),
		})
	}()
	fmt.Println(<-started)
	fmt.Println(ask(ctx, bot, "greeter", plugin.Request{Command: "hi", User: "carol"}))

	stop() // as SIGTERM would
	fmt.Println("serve returned:", <-served)
	// Output:
	// platform.plugin.greeter.started
	// Hi there, carol!
	// serve returned: <nil>
}

// shout is a plugin that puts its own middleware around its commands.
type shout struct{}

func (shout) Info() plugin.Info {
	return plugin.Info{Name: "shout", Version: "1.0.0", Commands: []plugin.Command{{Name: "say", Usage: "<text>"}}}
}

func (shout) Start(_ context.Context, h *plugin.Host) error {
	// Every command of this plugin: refuse empty text before the handler
	// runs, and shout whatever it answers.
	h.Use(func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			if req.Text == "" {
				return "", plugin.UserError("❌ say what?")
			}
			text, err := next(ctx, req)
			return strings.ToUpper(text) + "!", err
		}
	})
	h.Handle("say", func(_ context.Context, req *plugin.Request) (string, error) { return req.Text, nil })
	return nil
}

func (shout) Stop(context.Context) error { return nil }

// Use wraps every command handler of a plugin in middleware.
func ExampleHost_Use() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)
	in, _ := plugin.Run(ctx, shout{}, bus, plugin.RunConfig{})
	defer in.Stop(ctx)

	fmt.Println(ask(ctx, bus, "shout", plugin.Request{Command: "say", Text: "hello"}))
	fmt.Println(ask(ctx, bus, "shout", plugin.Request{Command: "say"}))
	// Output:
	// HELLO!
	// error: ❌ say what?
}

// RunConfig.Middleware (and supervisor.ManagerConfig.Middleware) wraps the
// commands of the plugins run (rosey.Config.Middleware does the same for a whole bot): here a log
// line per command and a deadline on each.
func ExampleLogCommands() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "took" { // vary from run to run
				return slog.Attr{}
			}
			return a
		},
	}))
	in, _ := plugin.Run(ctx, shout{}, bus, plugin.RunConfig{
		Middleware: []plugin.Middleware{plugin.LogCommands(log), plugin.Timeout(2 * time.Second)},
	})
	defer in.Stop(ctx)

	fmt.Println(ask(ctx, bus, "shout", plugin.Request{Command: "say", Text: "hi", User: "alice", Source: plugin.SourceChat}))
	// Output:
	// level=INFO msg=command command=say user=alice source=chat
	// HI!
}

// meeting is a plugin whose commands wait on something else (as database
// calls do): each !meet waits until two are in at once.
type meeting struct {
	mu      sync.Mutex // handlers run side by side: guard what they share
	inside  int
	quorate chan struct{}
}

func (*meeting) Info() plugin.Info {
	return plugin.Info{Name: "meeting", Version: "1.0.0", Commands: []plugin.Command{{Name: "meet"}}}
}

func (m *meeting) Start(_ context.Context, h *plugin.Host) error {
	// Up to 8 commands at once (one user's still one at a time, in order).
	if err := h.Concurrency(8); err != nil {
		return err
	}
	m.quorate = make(chan struct{})
	h.Handle("meet", func(ctx context.Context, req *plugin.Request) (string, error) {
		m.mu.Lock()
		if m.inside++; m.inside == 2 {
			close(m.quorate)
		}
		m.mu.Unlock()
		select {
		case <-m.quorate: // served one at a time, the first would wait in vain
			return req.User + " met someone", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	return nil
}

func (*meeting) Stop(context.Context) error { return nil }

// Concurrency lets a plugin whose handlers wait serve several users'
// commands at once.
func ExampleHost_Concurrency() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)
	in, err := plugin.Run(ctx, &meeting{}, bus, plugin.RunConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Stop(ctx)

	answers := make([]string, 2)
	var wg sync.WaitGroup
	for i, user := range []string{"alice", "bob"} {
		wg.Go(func() { answers[i] = ask(ctx, bus, "meeting", plugin.Request{Command: "meet", User: user}) })
	}
	wg.Wait()
	fmt.Println(answers[0])
	fmt.Println(answers[1])
	// Output:
	// alice met someone
	// bob met someone
}
