// Package chatevent reads the body of a cytube.chat or cytube.pm event
// without reflection when it has the plain shape the connector publishes,
// and through encoding/json otherwise, with the same result. Plugins that
// look at every chat line (seen, stats) use it: decoding is most of what
// they spend on a line.
package chatevent

import (
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/flatjson"
	"github.com/roseybot/rosey/protocol"
)

// Decode reads ev's body into m, as ev.Decode would.
func Decode(ev *eventbus.Event, m *protocol.ChatMessage) error {
	if Fast(ev.Data, m) {
		return nil
	}
	return ev.Decode(m)
}

// Fast reads data into m without reflection and reports whether it could;
// when it cannot (escapes, nulls, unknown fields…) m is left as it was and
// the caller decodes with encoding/json.
func Fast(data []byte, m *protocol.ChatMessage) bool {
	var c protocol.ChatMessage
	ok := flatjson.Scan(data, func(k []byte, v flatjson.Value) bool {
		switch string(k) {
		case "user":
			return v.Str(&c.User)
		case "message":
			return v.Str(&c.Message)
		case "channel":
			return v.Str(&c.Channel)
		case "rank":
			return v.Float(&c.Rank)
		case "time":
			return v.Int(&c.Time)
		}
		return false
	})
	if ok {
		*m = c
	}
	return ok
}
