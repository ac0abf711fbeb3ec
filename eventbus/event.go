package eventbus

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	hdr "github.com/roseybot/rosey/internal/envelope"
)

// Header names of the wire envelope. The body of every message is the plain
// JSON payload; everything else travels in these headers so that a plugin in
// any language can read msg.data directly.
const (
	HeaderCorrelationID = "Rosey-Correlation-Id"
	HeaderPriority      = "Rosey-Priority"
	HeaderTimestamp     = "Rosey-Timestamp"
	HeaderSource        = "Rosey-Source"
	// HeaderMetaPrefix starts every metadata header: metadata key "channel"
	// travels as "Rosey-Meta-Channel".
	HeaderMetaPrefix = "Rosey-Meta-"
)

// Priority is an event's urgency. It is advisory: the bus delivers every
// priority the same way, but consumers may order or drop by it.
type Priority string

// The four priorities of the wire contract.
const (
	PriorityLow      Priority = "low"
	PriorityNormal   Priority = "normal"
	PriorityHigh     Priority = "high"
	PriorityCritical Priority = "critical"
)

// Valid reports whether p is one of the four known priorities.
func (p Priority) Valid() bool {
	switch p {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityCritical:
		return true
	}
	return false
}

// Event is one message on the bus: its subject and JSON data, and the
// envelope that travels in NATS headers (timestamp, priority, correlation
// id, source and metadata).
type Event struct {
	// Subject is the subject without the bus's configured prefix.
	Subject string
	// Data is the raw JSON payload. Use Decode to read it.
	Data json.RawMessage
	// Timestamp is when the event was published (from Rosey-Timestamp).
	Timestamp time.Time
	// Priority defaults to PriorityNormal.
	Priority Priority
	// CorrelationID ties related events together: a reply and every event
	// published while handling a request carry the request's id.
	CorrelationID string
	// Source names the component or plugin that published the event.
	Source string
	// Metadata holds free-form string pairs (Rosey-Meta-<Key> headers).
	Metadata map[string]string
	// Reply is the reply subject when the event is a request.
	Reply string
}

// Decode unmarshals the event's JSON payload into v. A payload that is not
// valid JSON for v gives an error wrapping ErrMalformed.
func (e *Event) Decode(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("%w: %s: empty body", ErrMalformed, e.Subject)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, e.Subject, err)
	}
	return nil
}

// IsRequest reports whether the sender waits for a reply.
func (e *Event) IsRequest() bool { return e.Reply != "" }

// header renders the envelope as NATS headers.
func (e *Event) header(stamp string) nats.Header {
	h := make(nats.Header, 4+len(e.Metadata))
	e.fillHeader(h, new([4]string), stamp)
	return h
}

// fillHeader clears h and writes the envelope into it, with stamp as the
// formatted timestamp; the values' slices point into vals.
func (e *Event) fillHeader(h nats.Header, vals *[4]string, stamp string) {
	clear(h)
	// The names are already in canonical form: assigning directly skips
	// Set's canonicalisation on every message.
	n := 0
	set := func(k, v string) {
		vals[n] = v
		h[k] = vals[n : n+1 : n+1]
		n++
	}
	if e.CorrelationID != "" {
		set(HeaderCorrelationID, e.CorrelationID)
	}
	if e.Priority != "" && e.Priority != PriorityNormal {
		set(HeaderPriority, string(e.Priority))
	}
	set(HeaderTimestamp, stamp)
	if e.Source != "" {
		set(HeaderSource, e.Source)
	}
	for k, v := range e.Metadata {
		h.Set(HeaderMetaPrefix+k, v)
	}
}

// fromMsg builds an Event from a received NATS message; prefix is the
// bus's subject prefix, removed from the subject. (package busevent does
// the same for the module's micro endpoints.)
func fromMsg(m *nats.Msg, prefix string) *Event {
	ev := &Event{
		Subject:  strings.TrimPrefix(m.Subject, prefix),
		Data:     m.Data,
		Reply:    m.Reply,
		Priority: PriorityNormal,
	}
	if len(m.Header) > 0 {
		f := hdr.Read(m.Header)
		ev.CorrelationID, ev.Source, ev.Timestamp, ev.Metadata = f.CorrelationID, f.Source, f.Timestamp, f.Metadata
		if p := Priority(f.Priority); p.Valid() {
			ev.Priority = p
		}
	}
	return ev
}
