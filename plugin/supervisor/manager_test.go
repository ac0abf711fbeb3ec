package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
)

// probe is a configurable test plugin.
type probe struct {
	name     string
	failWith error
	// start runs at the end of Start.
	start func(h *plugin.Host) error
	stops atomic.Int32
}

func (p *probe) Info() plugin.Info {
	return plugin.Info{Name: p.name, Version: "1.0.0", Commands: []plugin.Command{{Name: p.name + "-cmd"}}}
}

func (p *probe) Start(_ context.Context, h *plugin.Host) error {
	if p.failWith != nil {
		return p.failWith
	}
	h.Handle(p.name+"-cmd", func(context.Context, *plugin.Request) (string, error) { return p.name + " ok", nil })
	if p.start != nil {
		return p.start(h)
	}
	return nil
}

func (p *probe) Stop(context.Context) error { p.stops.Add(1); return nil }

func command(t *testing.T, bus *eventbus.Bus, name string) (string, error) {
	t.Helper()
	ev, err := bus.Request(context.Background(), protocol.PluginCommand(name), plugin.Request{Command: name + "-cmd", User: "u"})
	if err != nil {
		return "", err
	}
	var r plugin.Response
	if err := ev.Decode(&r); err != nil {
		return "", err
	}
	return r.Result, nil
}

func TestManagerLifecycleStatesAndEvents(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	watcher := connect(t, srv, "watcher")
	events := lifecycle(t, watcher)

	good := &probe{name: "good"}
	bad := &probe{name: "bad", failWith: errors.New("no luck")}
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	is.NoErr(err)
	is.NoErr(m.Register(good))
	is.NoErr(m.Register(bad))
	is.Equal(states(m), map[string]string{"good": plugin.StateLoaded, "bad": plugin.StateLoaded})

	is.NoErr(m.Start(context.Background())) // a failing plugin does not fail the manager
	defer m.Stop(context.Background())
	is.Equal(states(m), map[string]string{"good": plugin.StateStarted, "bad": plugin.StateFailed})
	got := map[string]bool{receive(t, events): true, receive(t, events): true}
	is.Equal(got, map[string]bool{"platform.plugin.good.started": true, "platform.plugin.bad.failed": true})
	for _, s := range m.Status() {
		if s.Info.Name == "bad" {
			is.True(strings.Contains(s.LastError, "no luck"))
		}
	}
	res, err := command(t, bus, "good")
	is.NoErr(err)
	is.Equal(res, "good ok")

	is.NoErr(m.Reload(context.Background(), "good"))
	is.Equal(receive(t, events), "platform.plugin.good.stopped")
	is.Equal(receive(t, events), "platform.plugin.good.started")
	is.Equal(receive(t, events), "platform.plugin.good.reloaded")
	is.Equal(states(m)["good"], plugin.StateStarted)
	is.Equal(good.stops.Load(), int32(1))

	is.NoErr(m.StopPlugin(context.Background(), "good"))
	is.Equal(receive(t, events), "platform.plugin.good.stopped")
	is.Equal(states(m)["good"], plugin.StateStopped)
	_, err = command(t, bus, "good")
	is.True(errors.Is(err, eventbus.ErrNoResponders))    // its service is gone
	is.NoErr(m.StopPlugin(context.Background(), "good")) // stopping again does nothing

	is.NoErr(m.StartPlugin(context.Background(), "good"))
	is.Equal(receive(t, events), "platform.plugin.good.started")
	res, err = command(t, bus, "good")
	is.NoErr(err)
	is.Equal(res, "good ok")

	is.NoErr(m.Stop(context.Background()))
	is.Equal(receive(t, events), "platform.plugin.good.stopped")
	is.Equal(states(m)["good"], plugin.StateStopped)
}

func TestLifecycleAnnouncementCarriesInfo(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	got := make(chan plugin.Announcement, 4)
	_, err := bus.Subscribe("platform.plugin.*.failed", func(_ context.Context, ev *eventbus.Event) {
		var a plugin.Announcement
		is.NoErr(ev.Decode(&a))
		got <- a
	})
	is.NoErr(err)
	is.NoErr(bus.Flush(context.Background()))
	startManager(t, bus, supervisor.ManagerConfig{}, &probe{name: "sad", failWith: errors.New("disk on fire")})
	a := receive(t, got)
	is.Equal(a.Name, "sad")
	is.Equal(a.State, plugin.StateFailed)
	is.True(strings.Contains(a.Error, "disk on fire"))
}

func TestPanickingStartIsAFailedPlugin(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{},
		&probe{name: "panics", start: func(*plugin.Host) error { panic("oops") }},
		&probe{name: "fine"})
	is.Equal(states(m), map[string]string{"panics": plugin.StateFailed, "fine": plugin.StateStarted})
	err := m.StartPlugin(context.Background(), "panics")
	is.True(errors.Is(err, plugin.ErrStartFailed))
}

func TestRegisterRefusesDuplicatesAndInvalidInfo(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	is.NoErr(err)
	is.NoErr(m.Register(&probe{name: "one"}))
	err = m.Register(&probe{name: "one"})
	is.True(errors.Is(err, supervisor.ErrDuplicate))
	is.True(strings.Contains(err.Error(), "one"))

	for _, info := range []plugin.Info{
		{Name: ""},
		{Name: "has space"},
		{Name: "dots.in.name"},
		{Name: strings.Repeat("x", 65)},
		{Name: "ok", Commands: []plugin.Command{{Name: "Upper"}}},
		{Name: "ok", Commands: []plugin.Command{{Name: "two words"}}},
		{Name: "ok", Commands: []plugin.Command{{Name: "a"}, {Name: "b", Aliases: []string{"a"}}}},
		{Name: "ok", Commands: []plugin.Command{{Name: "a", Cooldown: -time.Second}}},
	} {
		err := m.Register(fixedInfo{info})
		is.True(errors.Is(err, plugin.ErrInvalidInfo))
		is.True(errors.Is(info.Validate(), plugin.ErrInvalidInfo))
	}
	_, err = supervisor.NewManager(supervisor.ManagerConfig{})
	is.True(errors.Is(err, supervisor.ErrManager)) // no bus
}

type fixedInfo struct{ info plugin.Info }

func (f fixedInfo) Info() plugin.Info                       { return f.info }
func (fixedInfo) Start(context.Context, *plugin.Host) error { return nil }
func (fixedInfo) Stop(context.Context) error                { return nil }

func TestUnknownPluginErrors(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{}, &probe{name: "known"})
	ctx := context.Background()
	is.True(errors.Is(m.StopPlugin(ctx, "ghost"), supervisor.ErrUnknownPlugin))
	is.True(errors.Is(m.StartPlugin(ctx, "ghost"), supervisor.ErrUnknownPlugin))
	is.True(errors.Is(m.Reload(ctx, "ghost"), supervisor.ErrUnknownPlugin))
	is.True(errors.Is(m.SetEnabled(ctx, "ghost", true), supervisor.ErrUnknownPlugin))
	is.Equal(states(m)["known"], plugin.StateStarted)
}

func TestDisabledPluginsAreNotStarted(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{Disabled: []string{"off"}}, &probe{name: "off"}, &probe{name: "on"})
	is.Equal(states(m), map[string]string{"off": plugin.StateStopped, "on": plugin.StateStarted})
	_, err := command(t, bus, "off")
	is.True(errors.Is(err, eventbus.ErrNoResponders))
	is.NoErr(m.SetEnabled(context.Background(), "off", true))
	res, err := command(t, bus, "off")
	is.NoErr(err)
	is.Equal(res, "off ok")
}

func TestControlOverNATS(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	events := lifecycle(t, connect(t, srv, "watcher"))
	startManager(t, bus, supervisor.ManagerConfig{}, &probe{name: "alpha"}, &probe{name: "beta"})
	receive(t, events)
	receive(t, events)

	// Another process's view.
	ctl := supervisor.NewControl(connect(t, srv, "admin"))
	ctx := context.Background()
	list, err := ctl.List(ctx)
	is.NoErr(err)
	is.Equal(len(list), 2)
	is.Equal(list[0].Info.Name, "alpha")
	is.Equal(list[0].State, plugin.StateStarted)
	is.True(list[0].Managed)

	is.NoErr(ctl.Disable(ctx, "beta"))
	is.Equal(receive(t, events), "platform.plugin.beta.stopped")
	list, err = ctl.List(ctx)
	is.NoErr(err)
	is.Equal(list[1].State, plugin.StateStopped)
	is.NoErr(ctl.Enable(ctx, "beta"))
	is.Equal(receive(t, events), "platform.plugin.beta.started")
	is.NoErr(ctl.Reload(ctx, "alpha"))
	is.Equal(receive(t, events), "platform.plugin.alpha.stopped")
	is.Equal(receive(t, events), "platform.plugin.alpha.started")
	is.Equal(receive(t, events), "platform.plugin.alpha.reloaded")

	for _, call := range []func(context.Context, string) error{ctl.Reload, ctl.Enable, ctl.Disable} {
		err := call(ctx, "ghost")
		is.True(errors.Is(err, supervisor.ErrUnknownPlugin))
		is.True(strings.Contains(err.Error(), "ghost"))
	}
	err = ctl.Reload(ctx, "")
	is.True(err != nil) // name is required
	is.True(!errors.Is(err, supervisor.ErrUnknownPlugin))
	is.True(strings.Contains(err.Error(), "name is required"))
}

func TestControlWithoutManager(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	ctl := supervisor.NewControl(connect(t, srv, "admin"))
	_, err := ctl.List(context.Background())
	is.True(errors.Is(err, supervisor.ErrManager))
	is.True(errors.Is(err, eventbus.ErrNoResponders))
}

func TestHostSubscriptionsEndWithThePlugin(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	p := &probe{name: "listener", start: func(h *plugin.Host) error {
		return h.Subscribe("test.ping", func(ctx context.Context, ev *eventbus.Event) { _ = h.Bus().Respond(ctx, ev, "pong") })
	}}
	client := connect(t, srv, "client")
	events := lifecycle(t, client)
	m := startManager(t, bus, supervisor.ManagerConfig{}, p)
	// Another connection can rely on the plugin's subscriptions once it
	// has seen the plugin's announcement (sent after them).
	is.Equal(receive(t, events), "platform.plugin.listener.started")
	rep, err := client.Request(context.Background(), "test.ping", nil)
	is.NoErr(err)
	is.Equal(string(rep.Data), `"pong"`)

	is.NoErr(m.StopPlugin(context.Background(), "listener"))
	_, err = client.Request(context.Background(), "test.ping", nil)
	is.True(errors.Is(err, eventbus.ErrNoResponders)) // the subscription is gone

	// After a start and a reload it answers again; stopping removes every
	// subscription the plugin ever made, so nothing answers at all.
	is.NoErr(m.StartPlugin(context.Background(), "listener"))
	is.NoErr(m.Reload(context.Background(), "listener"))
	for ev := ""; ev != "platform.plugin.listener.reloaded"; {
		ev = receive(t, events)
	}
	rep, err = client.Request(context.Background(), "test.ping", nil)
	is.NoErr(err)
	is.Equal(string(rep.Data), `"pong"`)
	is.NoErr(m.StopPlugin(context.Background(), "listener"))
	_, err = client.Request(context.Background(), "test.ping", nil)
	is.True(errors.Is(err, eventbus.ErrNoResponders))
}

func TestHostGoroutinesAreWaitedFor(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	var finished atomic.Bool
	running := make(chan struct{})
	p := &probe{name: "worker", start: func(h *plugin.Host) error {
		h.Go(func(ctx context.Context) {
			close(running)
			<-ctx.Done()
			finished.Store(true) // after the stop began, before it ends
		})
		h.Go(func(context.Context) { panic("goroutine panic is logged, not fatal") })
		return nil
	}}
	m := startManager(t, bus, supervisor.ManagerConfig{}, p)
	receive(t, running)
	is.True(!finished.Load())
	is.NoErr(m.StopPlugin(context.Background(), "worker"))
	is.True(finished.Load()) // StopPlugin waited for it
}

func TestHostGoroutineThatNeverEndsBoundsTheStop(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	release := make(chan struct{})
	defer close(release)
	p := &probe{name: "stuck", start: func(h *plugin.Host) error {
		h.Go(func(context.Context) { <-release }) // ignores its context
		return nil
	}}
	m := startManager(t, bus, supervisor.ManagerConfig{StopTimeout: 100 * time.Millisecond}, p)
	err := m.StopPlugin(context.Background(), "stuck")
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "goroutines still running"))
	is.Equal(states(m)["stuck"], plugin.StateStopped)
}

func TestHostConfigSection(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	type cfg struct {
		Sides int `json:"sides"`
	}
	var seen cfg
	p := &probe{name: "configured", start: func(h *plugin.Host) error {
		seen = cfg{Sides: 6}
		if err := h.DecodeConfig(&seen); err != nil {
			return err
		}
		is.Equal(h.Name(), "configured")
		is.True(h.Logger() != nil)
		is.True(h.Context().Err() == nil)
		return nil
	}}
	strict := &probe{name: "strict", start: func(h *plugin.Host) error {
		var c cfg
		return h.DecodeConfig(&c)
	}}
	m := startManager(t, bus, supervisor.ManagerConfig{Configs: map[string]json.RawMessage{
		"configured": json.RawMessage(`{"sides": 20}`),
		"strict":     json.RawMessage(`{"sidez": 20}`),
	}}, p, strict)
	is.Equal(seen.Sides, 20)
	is.Equal(states(m)["strict"], plugin.StateFailed) // unknown field: refused, named
	for _, s := range m.Status() {
		if s.Info.Name == "strict" {
			is.True(strings.Contains(s.LastError, "sidez"))
		}
	}
}

// TestRemoveWhileRunning registers a plugin after the manager started,
// removes it (stopped, gone from the status, its name free again) and
// registers another of the same name: what an install, an upgrade and a
// removal of an installed plugin do while the bot runs.
func TestRemoveWhileRunning(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{})
	first := &probe{name: "late"}
	is.NoErr(m.Register(first))
	is.NoErr(m.StartPlugin(context.Background(), "late"))
	res, err := command(t, bus, "late")
	is.NoErr(err)
	is.Equal(res, "late ok")

	is.NoErr(m.Remove(context.Background(), "late"))
	is.Equal(first.stops.Load(), int32(1))
	_, ok := states(m)["late"]
	is.True(!ok)
	_, err = command(t, bus, "late")
	is.True(errors.Is(err, eventbus.ErrNoResponders))
	is.True(errors.Is(m.Remove(context.Background(), "late"), supervisor.ErrUnknownPlugin))

	second := &probe{name: "late"}
	is.NoErr(m.Register(second))
	is.NoErr(m.StartPlugin(context.Background(), "late"))
	res, err = command(t, bus, "late")
	is.NoErr(err)
	is.Equal(res, "late ok")
	is.Equal(states(m)["late"], plugin.StateStarted)
}

// TestListSince: the list is sent again only when a plugin, its state or
// its Info changed since the caller's tag, and every such change shows.
func TestListSince(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	events := lifecycle(t, connect(t, srv, "watcher"))
	m := startManager(t, bus, supervisor.ManagerConfig{}, &probe{name: "alpha"}, &probe{name: "beta"})
	receive(t, events)
	receive(t, events)
	ctl := supervisor.NewControl(connect(t, srv, "help"))
	ctx := context.Background()

	list, tag, err := ctl.ListSince(ctx, "")
	is.NoErr(err)
	is.Equal(len(list), 2)
	is.True(tag != "")
	again, same, err := ctl.ListSince(ctx, tag)
	is.NoErr(err)
	is.Equal(same, tag)     // nothing changed
	is.Equal(len(again), 0) // and no list sent

	// Every kind of change gives a new tag and the list that shows it:
	// a plugin disabled, enabled, another process's plugin come and gone.
	changed := func(what string, check func([]supervisor.Status) bool) {
		t.Helper()
		list, next, err := ctl.ListSince(ctx, tag)
		is.NoErr(err)
		if next == tag {
			t.Fatalf("%s: the tag did not change", what)
		}
		if !check(list) {
			t.Fatalf("%s: not in the list: %+v", what, list)
		}
		tag = next
	}
	state := func(list []supervisor.Status, name string) string {
		for _, st := range list {
			if st.Info.Name == name {
				return st.State
			}
		}
		return "absent"
	}
	is.NoErr(ctl.Disable(ctx, "beta"))
	changed("disabled", func(l []supervisor.Status) bool { return state(l, "beta") == plugin.StateStopped })
	is.NoErr(ctl.Enable(ctx, "beta"))
	changed("enabled", func(l []supervisor.Status) bool { return state(l, "beta") == plugin.StateStarted })

	stop := serve(t, srv, &probe{name: "gamma"})
	eventually(t, "gamma known", func() bool { _, ok := m.Directory().Get("gamma"); return ok })
	changed("another process's plugin", func(l []supervisor.Status) bool { return state(l, "gamma") == plugin.StateStarted })
	is.NoErr(stop())
	eventually(t, "gamma gone", func() bool { _, ok := m.Directory().Get("gamma"); return !ok })
	changed("that plugin gone", func(l []supervisor.Status) bool { return state(l, "gamma") == "absent" })

	// A tag this manager never gave (another manager's, an old run's)
	// gets the whole list.
	list, other, err := ctl.ListSince(ctx, "stranger.1.1")
	is.NoErr(err)
	is.Equal(other, tag)
	is.Equal(len(list), 2)
}
