package eventbus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
)

// FuzzFromMsg feeds arbitrary subjects, prefixes, header keys and values
// and bodies to FromMsg and Decode: whatever arrives, reading it never
// panics, and a bad body is ErrMalformed, never something else.
func FuzzFromMsg(f *testing.F) {
	f.Add("bot.cytube.chat", "bot.", "Rosey-Priority", "HIGH", `{"user":"a"}`)
	f.Add("cytube.chat", "", "Rosey-Timestamp", "2024-13-99T99:99:99Z", `{`)
	f.Add("x", "xyz.", "Rosey-Meta-", "", "")
	f.Add("", "", "rosey-meta-ÿ", "\x00\r\n", "\xff\xfe")
	f.Add("a", "a", "Rosey-Correlation-Id", "  spaced  ", `null`)
	f.Fuzz(func(t *testing.T, subject, prefix, key, value, body string) {
		m := &nats.Msg{Subject: subject, Data: []byte(body), Header: nats.Header{}}
		m.Header[key] = []string{value}
		m.Header[eventbus.HeaderPriority] = []string{value}
		m.Header[eventbus.HeaderTimestamp] = []string{value}
		m.Header[eventbus.HeaderMetaPrefix+key] = []string{value, value}
		m.Header["Rosey-Meta-Empty"] = nil
		ev := eventbus.FromMsg(m, prefix)
		if !ev.Priority.Valid() {
			t.Fatalf("priority %q is not one of the four", ev.Priority)
		}
		var v map[string]any
		if err := ev.Decode(&v); err != nil && !isMalformed(err) {
			t.Fatalf("Decode error %v is not ErrMalformed", err)
		}
	})
}

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
