package eventbus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
)

// FuzzEnvelopeRoundTrip publishes events with arbitrary metadata, source and
// body through a real embedded server: Publish either refuses (a key that
// cannot be a header) or the event arrives with its correlation id, and
// nothing panics.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	f.Add("channel", "lobby", "dice", []byte(`{"a":1}`))
	f.Add("bad key", "v", "", []byte(`not json`))
	f.Add("k", "line\r\nRosey-Correlation-Id: forged", "src\nx", []byte{0xff, 0x00})
	f.Add("", "", "ünïcode", []byte(nil))
	srv := startServer(f)
	bus := connect(f, srv, "fuzz")
	got := make(chan *eventbus.Event, 1)
	if _, err := bus.Subscribe("fuzz.envelope", func(_ context.Context, ev *eventbus.Event) { got <- ev }); err != nil {
		f.Fatal(err)
	}
	if err := bus.Flush(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value, source string, body []byte) {
		id := eventbus.NewCorrelationID()
		err := bus.Publish(context.Background(), "fuzz.envelope", body,
			eventbus.WithCorrelation(id), eventbus.WithMetadata(key, value), eventbus.WithSource(source))
		if err != nil {
			// Refused cleanly, and the connection is still fine.
			if errors.Is(err, eventbus.ErrClosed) || !bus.Conn().IsConnected() {
				t.Fatalf("publish broke the connection: %v", err)
			}
			return
		}
		select {
		case ev := <-got:
			if ev.CorrelationID != id {
				t.Fatalf("correlation id %q, want %q (metadata %q=%q)", ev.CorrelationID, id, key, value)
			}
		case <-time.After(wait):
			t.Fatal("event not delivered")
		}
	})
}
