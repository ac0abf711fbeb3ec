package envelope_test

import (
	"testing"
	"time"

	"github.com/roseybot/rosey/internal/envelope"
)

// ParseStamp must read what time.Parse reads, and refuse what it refuses.
func FuzzParseStamp(f *testing.F) {
	for _, v := range []string{
		"2026-11-28T08:24:31.123456789Z", "2026-11-28T08:24:31Z", "2026-11-28T08:24:31.5Z",
		"2026-02-29T00:00:00Z", "2024-02-29T23:59:59.000000001Z", "2026-11-28T24:00:00Z",
		"2026-11-28T08:24:60Z", "2026-11-28T08:24:31.Z", "2026-11-28T08:24:31.1234567891Z",
		"2026-11-28T08:24:31+02:00", "0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-1a-01T00:00:00Z",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, gerr := envelope.ParseStamp(v)
		want, werr := time.Parse(time.RFC3339Nano, v)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: envelope.ParseStamp err %v, time.Parse err %v", v, gerr, werr)
		}
		if gerr == nil && (!got.Equal(want) || got.Location().String() != want.Location().String()) {
			t.Fatalf("%q: got %v, time.Parse %v", v, got, want)
		}
	})
}
