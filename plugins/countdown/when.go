package countdown

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxAhead bounds how far ahead a countdown may go.
const maxAhead = 10 * 365 * 24 * time.Hour

var (
	clockRE    = regexp.MustCompile(`^([01]?\d|2[0-3]):([0-5]\d)$`)
	relativeRE = regexp.MustCompile(`^(?:(\d+)w)?(?:(\d+)d)?(.*)$`)
	weekdays   = map[string]time.Weekday{
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
		"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
		"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	}
)

// errWhen is the user error for a time the plugin cannot read.
var errWhen = fmt.Errorf("❌ I can't read that time. Try 2026-12-24 18:00, in 2h30m, tomorrow 20:00 or every friday 19:00 (UTC)")

// schedule is a recurring rule: every day, or every given weekday, at hh:mm UTC.
type schedule struct {
	daily   bool
	weekday time.Weekday
	hour    int
	minute  int
}

func (s schedule) String() string {
	day := "day"
	if !s.daily {
		day = strings.ToLower(s.weekday.String())
	}
	return fmt.Sprintf("%s %02d:%02d", day, s.hour, s.minute)
}

// next returns the first occurrence strictly after t.
func (s schedule) next(t time.Time) time.Time {
	t = t.UTC()
	c := time.Date(t.Year(), t.Month(), t.Day(), s.hour, s.minute, 0, 0, time.UTC)
	for !c.After(t) || (!s.daily && c.Weekday() != s.weekday) {
		c = c.AddDate(0, 0, 1)
	}
	return c
}

// parseSchedule reads "day 08:00" or "friday 19:00".
func parseSchedule(s string) (schedule, bool) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) != 2 {
		return schedule{}, false
	}
	h, m, ok := parseClock(f[1])
	if !ok {
		return schedule{}, false
	}
	sc := schedule{hour: h, minute: m}
	switch wd, isDay := weekdays[f[0]]; {
	case f[0] == "day" || f[0] == "daily":
		sc.daily = true
	case isDay:
		sc.weekday = wd
	default:
		return schedule{}, false
	}
	return sc, true
}

func parseClock(s string) (int, int, bool) {
	m := clockRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h, mi, true
}

// parseWhen reads when relative to now and returns the target time and,
// for a recurring countdown, its schedule (as text, "" otherwise).
func parseWhen(when string, now time.Time) (time.Time, string, error) {
	now = now.UTC()
	w := strings.ToLower(strings.Join(strings.Fields(when), " "))
	w = strings.TrimSpace(strings.TrimSuffix(w, " utc"))
	var t time.Time
	every := ""
	switch f := strings.Fields(w); {
	case len(f) == 0:
		return t, "", errWhen
	case f[0] == "every":
		sc, ok := parseSchedule(strings.Join(f[1:], " "))
		if !ok {
			return t, "", errWhen
		}
		every = sc.String()
		t = sc.next(now)
	case f[0] == "in" && len(f) >= 2:
		d, ok := parseDuration(strings.Join(f[1:], ""))
		if !ok || d <= 0 {
			return t, "", errWhen
		}
		t = now.Add(d).Truncate(time.Second)
	case (f[0] == "today" || f[0] == "tomorrow") && len(f) == 2:
		h, m, ok := parseClock(f[1])
		if !ok {
			return t, "", errWhen
		}
		t = time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, time.UTC)
		if f[0] == "tomorrow" {
			t = t.AddDate(0, 0, 1)
		}
	default:
		if sc, ok := parseSchedule(w); ok && !sc.daily {
			t = sc.next(now) // "friday 19:00": the next one
			break
		}
		var err error
		t, err = parseDate(w)
		if err != nil {
			return t, "", errWhen
		}
	}
	switch {
	case !t.After(now):
		return t, "", fmt.Errorf("❌ That time (%s) has already passed.", t.Format(layoutShow))
	case t.Sub(now) > maxAhead:
		return t, "", fmt.Errorf("❌ That is too far ahead (at most 10 years).")
	}
	return t, every, nil
}

// layoutShow is how targets are shown.
const layoutShow = "Mon 2006-01-02 15:04 UTC"

func parseDate(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z", "2006-01-02"} {
		var t time.Time
		if t, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseDuration reads Go durations with optional leading weeks and days: "1w2d3h", "2h30m", "90m".
func parseDuration(s string) (time.Duration, bool) {
	m := relativeRE.FindStringSubmatch(s)
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return 0, false
	}
	var d time.Duration
	if m[1] != "" {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 600 {
			return 0, false
		}
		d += time.Duration(n) * 7 * 24 * time.Hour
	}
	if m[2] != "" {
		n, err := strconv.Atoi(m[2])
		if err != nil || n > 5000 {
			return 0, false
		}
		d += time.Duration(n) * 24 * time.Hour
	}
	if m[3] != "" {
		rest, err := time.ParseDuration(m[3])
		if err != nil || rest < 0 {
			return 0, false
		}
		d += rest
	}
	return d, true
}

// human writes a duration as "2d 3h 15m", or "45s" under a minute; minutes
// are rounded up so "in 10m" is said at exactly ten minutes.
func human(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
	}
	mins := int((d + time.Minute - 1) / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%dh", hours))
	}
	if m > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	return strings.Join(parts, " ")
}
