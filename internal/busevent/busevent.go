// Package busevent turns NATS messages that the module receives outside
// package eventbus's subscriptions (micro service endpoints, raw request
// replies) into eventbus Events, envelope included, so every component
// reads the wire the same way.
package busevent

import (
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/envelope"
)

// FromMsg builds an Event from m; prefix is the bus's subject prefix,
// removed from the subject. A priority that is not one of the four is
// normal.
func FromMsg(m *nats.Msg, prefix string) *eventbus.Event {
	ev := &eventbus.Event{
		Subject:  strings.TrimPrefix(m.Subject, prefix),
		Data:     m.Data,
		Reply:    m.Reply,
		Priority: eventbus.PriorityNormal,
	}
	if len(m.Header) > 0 {
		f := envelope.Read(m.Header)
		ev.CorrelationID, ev.Source, ev.Timestamp, ev.Metadata = f.CorrelationID, f.Source, f.Timestamp, f.Metadata
		if p := eventbus.Priority(f.Priority); p.Valid() {
			ev.Priority = p
		}
	}
	return ev
}
