package database

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ID is a document id: an integer or a string. The zero ID means "no id"
// (a set without an id gets the next integer of its collection).
type ID struct {
	s     string
	n     int64
	isInt bool
}

// IntID returns an integer id.
func IntID(n int64) ID { return ID{n: n, isInt: true, s: strconv.FormatInt(n, 10)} }

// StringID returns a string id.
func StringID(s string) ID { return ID{s: s} }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return !id.isInt && id.s == "" }

// IsInt reports whether id is an integer id.
func (id ID) IsInt() bool { return id.isInt }

// Int returns the integer value and whether id is an integer id.
func (id ID) Int() (int64, bool) { return id.n, id.isInt }

// String returns the id as text: the decimal digits of an integer id.
func (id ID) String() string { return id.s }

// MarshalJSON writes an integer id as a JSON number, a string id as a JSON
// string and the zero ID as null.
func (id ID) MarshalJSON() ([]byte, error) {
	switch {
	case id.isInt:
		return []byte(id.s), nil
	case id.s == "":
		return []byte("null"), nil
	}
	return json.Marshal(id.s)
}

// UnmarshalJSON reads a JSON integer, string or null. Fractions, numbers out
// of the int64 range, and other JSON types are errors.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*id = ID{}
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = StringID(s)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("id: %s is not an integer in the int64 range", b)
		}
		*id = IntID(n)
		return nil
	}
	return fmt.Errorf("id: must be an integer or a string, got %s", b)
}
