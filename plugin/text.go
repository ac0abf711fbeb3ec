package plugin

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// FormatDuration writes d for a chat reply as its two largest units:
// "3h 12m", "2d 4h", "45s". Under a second it is "0s".
func FormatDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units {
		n := d / u.d
		if n == 0 {
			continue
		}
		out := fmt.Sprintf("%d%s", n, u.name)
		if i+1 < len(units) {
			if m := d % u.d / units[i+1].d; m > 0 {
				out += fmt.Sprintf(" %d%s", m, units[i+1].name)
			}
		}
		return out
	}
	return "0s"
}

// Clip shortens s to at most n runes, marking a cut with "…", so a user's
// text quoted in a reply cannot make it overlong.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
