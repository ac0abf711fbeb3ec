package eventbus

import (
	"testing"
	"time"
)

// The stamper must write what time.Format writes, second after second.
func FuzzStampFormat(f *testing.F) {
	f.Add(int64(1795843084), int64(123456789))
	f.Add(int64(1795843084), int64(0))
	f.Add(int64(1795843085), int64(100000000))
	f.Add(int64(0), int64(1))
	f.Add(int64(-62135596800), int64(999999999))
	var s stamper
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec%1e9)
		want := tm.UTC().Format(time.RFC3339Nano)
		for range 2 { // fresh, then from the cached second
			if got := s.format(tm); got != want {
				t.Fatalf("%v: got %s, time.Format %s", tm, got, want)
			}
		}
	})
}
