package busevent_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
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
		ev := busevent.FromMsg(m, prefix)
		if !ev.Priority.Valid() {
			t.Fatalf("priority %q is not one of the four", ev.Priority)
		}
		var v map[string]any
		if err := ev.Decode(&v); err != nil && !isMalformed(err) {
			t.Fatalf("Decode error %v is not ErrMalformed", err)
		}
	})
}

func isMalformed(err error) bool { return errors.Is(err, eventbus.ErrMalformed) }
