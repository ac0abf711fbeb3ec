// Package natstest holds the small helpers the packages' tests share: an
// embedded NATS server and bus connections that end with the test.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// Wait is the generous deadline for anything a test waits for.
const Wait = 10 * time.Second

// StartServer starts an embedded server with no listener, shut down when
// the test ends.
func StartServer(t testing.TB) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(context.Background(), embedded.Config{NoListen: true})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv
}

// Connect opens a bus named name on srv; edit may change its config. The
// bus closes when the test ends.
func Connect(t testing.TB, srv *embedded.Server, name string, edit ...func(*eventbus.Config)) *eventbus.Bus {
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

// Receive returns the next value from ch, failing the test after Wait.
func Receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Wait):
		t.Fatalf("nothing received within %s", Wait)
		var zero T
		return zero
	}
}
