package plugin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration that config files write as a string with a
// unit, "1m30s" or "500ms", for plugins' config sections and the bot's own.
// A bare number is an error: 5 would be ambiguous (seconds? nanoseconds?).
type Duration time.Duration

// UnmarshalJSON accepts a string such as "1m30s"; for a bare number it
// returns an error that shows how to write it ("5s").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	return durationError(b)
}

// durationError is the error for a config value that is not a duration
// string: for a number n it says to write "ns", with the unit.
func durationError(value []byte) error {
	var n float64
	if json.Unmarshal(value, &n) == nil {
		return fmt.Errorf("%s has no unit: write \"%ss\"", value, strconv.FormatFloat(n, 'f', -1, 64))
	}
	return fmt.Errorf("%s is not a duration: write a string such as \"5s\" or \"1m30s\"", value)
}

// MarshalJSON writes the duration as a string such as "5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
