package eventbus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/natstest"
)

// wait is the generous deadline for anything a test waits for.
const wait = 10 * time.Second

func startServer(t testing.TB) *embedded.Server { return natstest.StartServer(t) }

func connect(t testing.TB, srv *embedded.Server, name string, edit ...func(*eventbus.Config)) *eventbus.Bus {
	return natstest.Connect(t, srv, name, edit...)
}

func receive[T any](t testing.TB, ch <-chan T) T { return natstest.Receive(t, ch) }

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
