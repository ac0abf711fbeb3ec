package plugin

import (
	"encoding/json"

	"github.com/roseybot/rosey/internal/flatjson"
)

// fastRequest reads a command request of the plain shape the router sends
// without reflection, reporting false for anything else (which then goes
// through encoding/json, with the same result).
func fastRequest(data []byte, r *Request) bool {
	var q Request
	ok := flatjson.Scan(data, func(k []byte, v flatjson.Value) bool {
		switch string(k) {
		case "command":
			return v.Str(&q.Command)
		case "text":
			return v.Str(&q.Text)
		case "user":
			return v.Str(&q.User)
		case "channel":
			return v.Str(&q.Channel)
		case "source":
			return v.Str(&q.Source)
		case "rank":
			return v.Float(&q.Rank)
		case "args":
			return v.StrList(&q.Args)
		}
		return false
	})
	if ok {
		*r = q
	}
	return ok
}

// encodeResponse writes r as encoding/json would, without reflection when
// its strings are plain.
func encodeResponse(r Response) []byte {
	b := make([]byte, 0, 16+len(r.Result)+len(r.Error))
	b = append(b, '{')
	ok := true
	if r.Result != "" {
		b = append(b, `"result":`...)
		b, ok = flatjson.AppendString(b, r.Result)
	}
	if ok && r.Error != "" {
		if r.Result != "" {
			b = append(b, ',')
		}
		b = append(b, `"error":`...)
		b, ok = flatjson.AppendString(b, r.Error)
	}
	if !ok {
		b, _ = json.Marshal(r) // two strings: it cannot fail
		return b
	}
	return append(b, '}')
}
