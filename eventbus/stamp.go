package eventbus

import (
	"sync/atomic"
	"time"
)

// stamper formats envelope timestamps as time.RFC3339Nano in UTC, exactly
// as time.Format does, but reuses the formatted date and time of the
// current second: every message carries a timestamp, and Format was a
// visible share of publishing.
type stamper struct {
	last atomic.Pointer[stampSecond]
}

type stampSecond struct {
	unix   int64
	prefix string // "2006-01-02T15:04:05"
}

func (s *stamper) format(t time.Time) string {
	t = t.UTC()
	sec := t.Unix()
	p := s.last.Load()
	if p == nil || p.unix != sec {
		p = &stampSecond{unix: sec, prefix: t.Format("2006-01-02T15:04:05")}
		s.last.Store(p)
	}
	var buf [48]byte
	b := append(buf[:0], p.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var d [9]byte
		for i := 8; i >= 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for d[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, d[:n]...)
	}
	b = append(b, 'Z')
	return string(b)
}

// parseStamp reads a timestamp as time.Parse(time.RFC3339Nano, v) does.
// The form Rosey writes (UTC, "Z") is read directly; anything else goes
// to time.Parse.
func parseStamp(v string) (time.Time, error) {
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
