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

func receive[T any](t testing.TB, ch <-chan T) T { t.Helper(); return natstest.Receive(t, ch) }

// run runs p with plugin.Run on bus, stopped when the test ends.
func run(t testing.TB, bus *eventbus.Bus, cfg plugin.RunConfig, p plugin.Plugin) *plugin.Instance {
	t.Helper()
	in, err := plugin.Run(context.Background(), p, bus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(context.Background()) })
	// Once the server has the endpoint's subscription, a command sent from
	// another connection reaches it (rather than "no responders").
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return in
}
