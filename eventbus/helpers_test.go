package eventbus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// wait is the generous deadline for anything a test waits for.
const wait = 10 * time.Second

// startServer starts an embedded server with no listener, shut down when
// the test ends.
func startServer(t testing.TB) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(context.Background(), embedded.Config{NoListen: true})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv
}

// connect opens a bus on srv; edit may change its config. The bus closes
// when the test ends.
func connect(t testing.TB, srv *embedded.Server, name string, edit ...func(*eventbus.Config)) *eventbus.Bus {
	t.Helper()
	cfg := srv.BusConfig(name)
	for _, e := range edit {
		e(&cfg)
	}
	bus, err := eventbus.Connect(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	return bus
}

// receive returns the next value from ch, failing the test after wait.
func receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("nothing received within %s", wait)
		var zero T
		return zero
	}
}

// collect subscribes to subject and sends every event to the returned channel.
func collect(t testing.TB, bus *eventbus.Bus, subject string) <-chan *eventbus.Event {
	t.Helper()
	ch := make(chan *eventbus.Event, 256)
	if _, err := bus.Subscribe(subject, func(_ context.Context, ev *eventbus.Event) { ch <- ev }); err != nil {
		t.Fatalf("subscribe %s: %v", subject, err)
	}
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return ch
}

func isMalformed(err error) bool { return errors.Is(err, eventbus.ErrMalformed) }
