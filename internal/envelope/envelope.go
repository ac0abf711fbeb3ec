// Package envelope reads the Rosey envelope of a NATS message: the headers
// that carry an event's correlation id, priority, timestamp, source and
// metadata beside its JSON body. Package eventbus writes and reads it for
// its own subscriptions; package busevent turns messages received through
// other APIs (micro endpoints, raw replies) into eventbus Events with it.
package envelope

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names of the wire envelope (eventbus.Header* are the same).
const (
	CorrelationID = "Rosey-Correlation-Id"
	Priority      = "Rosey-Priority"
	Timestamp     = "Rosey-Timestamp"
	Source        = "Rosey-Source"
	// MetaPrefix starts every metadata header: metadata key "channel"
	// travels as "Rosey-Meta-Channel".
	MetaPrefix = "Rosey-Meta-"
)

// Fields is what the envelope headers of one message say.
type Fields struct {
	CorrelationID string
	Source        string
	// Priority is lower-cased and not checked against the known ones.
	Priority  string
	Timestamp time.Time // zero when missing or unreadable
	Metadata  map[string]string
}

// Read reads the envelope headers of h in one pass, comparing names without
// regard to case: clients in other languages may send
// "rosey-correlation-id". Foreign headers are ignored.
func Read(h nats.Header) Fields {
	var f Fields
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		switch canonical(k) {
		case CorrelationID:
			f.CorrelationID = v
		case Source:
			f.Source = v
		case Priority:
			f.Priority = strings.ToLower(v)
		case Timestamp:
			if t, err := ParseStamp(v); err == nil {
				f.Timestamp = t
			}
		case MetaPrefix:
			if f.Metadata == nil {
				f.Metadata = map[string]string{}
			}
			f.Metadata[k[len(MetaPrefix):]] = v
		}
	}
	return f
}

// canonical returns the envelope header name k stands for, in any case
// (MetaPrefix for a metadata header), or "" for a foreign one.
func canonical(k string) string {
	switch k {
	case CorrelationID, Source, Timestamp, Priority:
		return k // Rosey's own spelling: no case folding
	}
	if len(k) < 6 || !strings.EqualFold(k[:6], "Rosey-") {
		return ""
	}
	for _, name := range []string{CorrelationID, Source, Priority, Timestamp} {
		if strings.EqualFold(k, name) {
			return name
		}
	}
	if len(k) > len(MetaPrefix) && strings.EqualFold(k[:len(MetaPrefix)], MetaPrefix) {
		return MetaPrefix
	}
	return ""
}

// ParseStamp reads a timestamp as time.Parse(time.RFC3339Nano, v) does.
// The form Rosey writes (UTC, "Z") is read directly; anything else goes
// to time.Parse.
func ParseStamp(v string) (time.Time, error) {
	// 2006-01-02T15:04:05[.fraction]Z
	if len(v) < 20 || len(v) > 30 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[len(v)-1] != 'Z' {
		return time.Parse(time.RFC3339Nano, v)
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(v[0:4])
	month, ok2 := num(v[5:7])
	day, ok3 := num(v[8:10])
	hour, ok4 := num(v[11:13])
	minute, ok5 := num(v[14:16])
	second, ok6 := num(v[17:19])
	ns := 0
	frac := v[19 : len(v)-1]
	ok7 := true
	switch {
	case frac == "":
	case len(frac) >= 2 && frac[0] == '.':
		var n int
		n, ok7 = num(frac[1:])
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		ns = n
	default:
		ok7 = false
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 {
		return time.Parse(time.RFC3339Nano, v)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, ns, time.UTC)
	if t.Day() != day { // the 31st of a 30-day month, and the like
		return time.Parse(time.RFC3339Nano, v)
	}
	return t, nil
}
