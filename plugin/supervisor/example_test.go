package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
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

// A Manager runs in-process plugins, each as a NATS micro service answering
// plugin.<name>.command, and announces their lifecycle on the bus.
func ExampleNewManager() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)

	m, err := supervisor.NewManager(supervisor.ManagerConfig{
		Bus:     bus,
		Configs: map[string]json.RawMessage{"greeter": json.RawMessage(`{"greeting": "Howdy"}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = m.Register(&greeter{})
	fmt.Println(errors.Is(m.Register(&greeter{}), supervisor.ErrDuplicate))
	if err := m.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer m.Stop(ctx)

	for _, s := range m.Status() {
		fmt.Println(s.Info.Name, s.State)
	}
	fmt.Println(ask(ctx, bus, "greeter", plugin.Request{Command: "hi", User: "alice"}))
	fmt.Println(ask(ctx, bus, "greeter", plugin.Request{Command: "hello", Args: []string{"bob"}}))
	fmt.Println(errors.Is(m.Reload(ctx, "nobody"), supervisor.ErrUnknownPlugin))
	// Output:
	// true
	// greeter started
	// Howdy, alice!
	// Howdy, bob!
	// true
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

// A Directory knows every plugin on the bus, in any process, and which
// plugin answers which command word. Refresh asks NATS for the plugins'
// micro services; Start also follows lifecycle announcements.
func ExampleDirectory() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("router"))
	defer bus.Close(ctx)

	// A plugin served by "another process".
	started := make(chan struct{})
	_, _ = bus.Subscribe("platform.plugin.greeter.started", func(context.Context, *eventbus.Event) { close(started) })
	_ = bus.Flush(ctx)
	pctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- plugin.ServeContext(pctx, &greeter{}, plugin.ServeConfig{Bus: srv.BusConfig("")}) }()
	<-started

	dir := supervisor.NewDirectory(bus)
	if err := dir.Refresh(ctx, 500*time.Millisecond); err != nil {
		fmt.Println(err)
	}
	name, cmd, ok := dir.Lookup("HELLO") // an alias, any case
	fmt.Println(name, cmd.Name, ok)
	for _, e := range dir.Plugins() {
		fmt.Println(e.Info.Name, "local:", e.Local, "instances:", len(e.Instances))
	}

	stop()
	<-served
	// A plugin that stopped without a word is forgotten once it has missed
	// two sweeps (one late answer is forgiven).
	_ = dir.Refresh(ctx, 200*time.Millisecond)
	_ = dir.Refresh(ctx, 200*time.Millisecond)
	_, _, ok = dir.Lookup("hi")
	fmt.Println("after stop:", ok)
	// Output:
	// greeter hi true
	// greeter local: false instances: 1
	// after stop: false
}

// Control lists, reloads, enables and disables the plugins of a Manager
// over NATS, from any process (the admin plugin uses it).
func ExampleNewControl() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("bot"))
	defer bus.Close(ctx)
	m, _ := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	_ = m.Register(&greeter{})
	_ = m.Register(calc{})
	_ = m.Start(ctx)
	defer m.Stop(ctx)

	admin, _ := eventbus.Connect(ctx, srv.BusConfig("admin-tool"))
	defer admin.Close(ctx)
	ctl := supervisor.NewControl(admin)
	if err := ctl.Disable(ctx, "calc"); err != nil {
		fmt.Println(err)
	}
	list, err := ctl.List(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range list {
		fmt.Println(s.Info.Name, s.State)
	}
	fmt.Println(ctl.Enable(ctx, "calc"), ctl.Reload(ctx, "greeter"))
	fmt.Println(errors.Is(ctl.Reload(ctx, "nope"), supervisor.ErrUnknownPlugin))
	// Output:
	// calc stopped
	// greeter started
	// <nil> <nil>
	// true
}

// ExampleBusEnv turns the way a bot is reached into the environment a
// plugin binary (plugin.Serve) reads: how the bot hands its NATS address
// and generated credentials to the plugin processes it starts.
func ExampleBusEnv() {
	bc := eventbus.Config{URLs: []string{"nats://127.0.0.1:4222"}, NKeyFile: "/srv/rosey/data/nats.nkey"}
	for _, v := range supervisor.BusEnv(bc) {
		fmt.Println(v)
	}
	fmt.Println(plugin.InboxPrefix("quote-db")) // where its own replies go
	// Output:
	// ROSEY_NATS_URL=nats://127.0.0.1:4222
	// ROSEY_NATS_NKEY=/srv/rosey/data/nats.nkey
	// _INBOX.plugin.quote-db
}
