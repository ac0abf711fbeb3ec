package supervisor_test

import (
	"context"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
)

const wait = 10 * time.Second

func startServer(t testing.TB) *embedded.Server { return natstest.StartServer(t) }

func connect(t testing.TB, srv *embedded.Server, name string, edit ...func(*eventbus.Config)) *eventbus.Bus {
	return natstest.Connect(t, srv, name, edit...)
}

func receive[T any](t testing.TB, ch <-chan T) T { return natstest.Receive(t, ch) }

// startManager starts a manager with ps on bus, stopped when the test ends.
func startManager(t testing.TB, bus *eventbus.Bus, cfg supervisor.ManagerConfig, ps ...plugin.Plugin) *supervisor.Manager {
	t.Helper()
	cfg.Bus = bus
	m, err := supervisor.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := m.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	return m
}

// lifecycle collects platform.plugin.<name>.<state> subjects.
func lifecycle(t testing.TB, bus *eventbus.Bus) <-chan string {
	t.Helper()
	ch := make(chan string, 64)
	if _, err := bus.Subscribe("platform.plugin.*.*", func(_ context.Context, ev *eventbus.Event) { ch <- ev.Subject }); err != nil {
		t.Fatal(err)
	}
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ch
}

// states returns each plugin's state by name.
func states(m *supervisor.Manager) map[string]string {
	out := map[string]string{}
	for _, s := range m.Status() {
		out[s.Info.Name] = s.State
	}
	return out
}

// serve runs p with ServeContext on its own connection to srv until the
// returned stop is called; stop returns ServeContext's error.
func serve(t testing.TB, srv *embedded.Server, p plugin.Plugin) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- plugin.ServeContext(ctx, p, plugin.ServeConfig{Bus: srv.BusConfig("")}) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = receive(t, done)
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually waits until cond holds, failing after wait. It is for state
// that another goroutine updates (a subscription handler), never for
// timing.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
