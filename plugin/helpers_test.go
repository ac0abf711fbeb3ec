package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
)

const wait = 10 * time.Second

func startServer(t testing.TB) *embedded.Server { return natstest.StartServer(t) }

func connect(t testing.TB, srv *embedded.Server, name string, edit ...func(*eventbus.Config)) *eventbus.Bus {
	return natstest.Connect(t, srv, name, edit...)
}

func receive[T any](t testing.TB, ch <-chan T) T { return natstest.Receive(t, ch) }

// run runs p with plugin.Run on bus, stopped when the test ends.
func run(t testing.TB, bus *eventbus.Bus, cfg plugin.RunConfig, p plugin.Plugin) *plugin.Instance {
	t.Helper()
	in, err := plugin.Run(context.Background(), p, bus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	return in
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
