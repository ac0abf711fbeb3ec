package plugin

import (
	"encoding/json"
	"strconv"

	"github.com/roseybot/rosey/internal/flatjson"
)

// fastRequest reads a command request of the plain shape the router sends
// without reflection, reporting false for anything else (which then goes
// through encoding/json, with the same result).
func fastRequest(data []byte, r *Request) bool {
	var q Request
	ok := flatjson.Scan(data, func(k []byte, v flatjson.Value) bool {
		str := func(dst *string) bool {
			*dst = string(v.Raw)
			return v.Kind == flatjson.String
		}
		switch string(k) {
		case "command":
			return str(&q.Command)
		case "text":
			return str(&q.Text)
		case "user":
			return str(&q.User)
		case "channel":
			return str(&q.Channel)
		case "source":
			return str(&q.Source)
		case "rank":
			if v.Kind != flatjson.Number {
				return false
			}
			f, err := strconv.ParseFloat(string(v.Raw), 64)
			q.Rank = f
			return err == nil
		case "args":
			if v.Kind != flatjson.Strings {
				return false
			}
			q.Args = make([]string, len(v.List))
			for i, a := range v.List {
				q.Args[i] = string(a)
			}
			return true
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
