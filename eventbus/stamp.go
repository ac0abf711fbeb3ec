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
