// Package flatjson reads the flat JSON objects on Rosey's hottest subjects
// (chat lines, command requests and replies) without reflection. It handles
// only the plain shape those messages nearly always have and declines
// everything else (escapes, null, nesting, odd numbers), so that callers
// fall back to encoding/json and the result is always what encoding/json
// would give. Each caller keeps a fuzz test comparing the two.
package flatjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a scanned value.
type Kind uint8

// Kinds of values Scan hands over.
const (
	String  Kind = iota + 1 // Raw holds the characters, unquoted
	Number                  // Raw holds the number's text, valid JSON syntax
	Bool                    // Bool holds it
	Strings                 // List holds the unquoted strings of an array
)

// Value is one member's value. Its slices point into the scanned data, and
// it is only valid during the call that hands it over.
type Value struct {
	Kind Kind
	Raw  []byte
	Bool bool
	List [][]byte
}

// Str stores a string value in dst, as encoding/json would, and reports
// false for any other kind.
func (v Value) Str(dst *string) bool {
	if v.Kind != String {
		return false
	}
	*dst = string(v.Raw)
	return true
}

// Float stores a number in dst as encoding/json stores a float64, and
// reports false for any other kind or a number out of range.
func (v Value) Float(dst *float64) bool {
	if v.Kind != Number {
		return false
	}
	f, err := strconv.ParseFloat(string(v.Raw), 64)
	*dst = f
	return err == nil
}

// Int stores a number in dst as encoding/json stores an int64, and
// reports false for any other kind, a fraction or a number out of range.
func (v Value) Int(dst *int64) bool {
	if v.Kind != Number {
		return false
	}
	n, err := strconv.ParseInt(string(v.Raw), 10, 64)
	*dst = n
	return err == nil
}

// StrList stores an array of strings in dst (empty, not nil, for []), and
// reports false for any other kind.
func (v Value) StrList(dst *[]string) bool {
	if v.Kind != Strings {
		return false
	}
	l := make([]string, len(v.List))
	for i, s := range v.List {
		l[i] = string(s)
	}
	*dst = l
	return true
}

// Scan walks the members of the JSON object data, calling fn with each key
// and value in order. It reports false when data is not an object of the
// plain shape (or fn returned false); the caller should then decode with
// encoding/json instead.
func Scan(data []byte, fn func(key []byte, v Value) bool) bool {
	s := scanner{data: data}
	s.space()
	if !s.byte('{') {
		return false
	}
	s.space()
	if s.byte('}') {
		return s.end()
	}
	var v Value
	for {
		s.space()
		key, ok := s.str()
		if !ok {
			return false
		}
		s.space()
		if !s.byte(':') {
			return false
		}
		s.space()
		v = Value{List: v.List[:0]}
		if !s.value(&v) || !fn(key, v) {
			return false
		}
		s.space()
		if s.byte(',') {
			continue
		}
		if s.byte('}') {
			return s.end()
		}
		return false
	}
}

type scanner struct {
	data []byte
	i    int
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) byte(b byte) bool {
	if s.i < len(s.data) && s.data[s.i] == b {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.data)
}

// str reads a string with no escapes, no control characters and valid
// UTF-8, returning its characters.
func (s *scanner) str() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	ascii := true
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			out := s.data[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(out) {
				return nil, false
			}
			return out, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		s.i++
	}
	return nil, false
}

func (s *scanner) value(v *Value) bool {
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; {
	case c == '"':
		raw, ok := s.str()
		v.Kind, v.Raw = String, raw
		return ok
	case c == '-' || c >= '0' && c <= '9':
		v.Kind, v.Raw = Number, s.number()
		return v.Raw != nil
	case c == 't':
		v.Kind, v.Bool = Bool, true
		return s.word("true")
	case c == 'f':
		v.Kind, v.Bool = Bool, false
		return s.word("false")
	case c == '[':
		s.i++
		v.Kind = Strings
		s.space()
		if s.byte(']') {
			return true
		}
		for {
			s.space()
			str, ok := s.str()
			if !ok {
				return false
			}
			v.List = append(v.List, str)
			s.space()
			if s.byte(',') {
				continue
			}
			return s.byte(']')
		}
	}
	return false // null, objects and anything else
}

func (s *scanner) word(w string) bool {
	if len(s.data)-s.i < len(w) || string(s.data[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

// number reads a number in JSON's syntax:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() []byte {
	start := s.i
	d := s.data
	s.byte('-')
	switch {
	case s.byte('0'):
	case s.i < len(d) && d[s.i] >= '1' && d[s.i] <= '9':
		s.digits()
	default:
		return nil
	}
	if s.byte('.') && !s.digits() {
		return nil
	}
	if s.i < len(d) && (d[s.i] == 'e' || d[s.i] == 'E') {
		s.i++
		if !s.byte('+') {
			s.byte('-')
		}
		if !s.digits() {
			return nil
		}
	}
	return d[start:s.i]
}

// digits skips one or more digits, reporting whether there was one.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// AppendString appends s as a JSON string, exactly as encoding/json would
// write it, and reports true; or reports false, appending nothing, when s
// needs escaping (quotes, backslashes, control characters, <, >, &, U+2028,
// U+2029 or invalid UTF-8). The caller then uses encoding/json.
func AppendString(dst []byte, s string) ([]byte, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return dst, false
		case c >= 0x80:
			ascii = false
		}
	}
	if !ascii && (!utf8.ValidString(s) || strings.ContainsRune(s, '\u2028') || strings.ContainsRune(s, '\u2029')) {
		return dst, false
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}

// AppendFloat appends f as encoding/json writes a float64, for the values
// it can do so exactly (integers up to 2^53, and ordinary fractions); it
// reports false, appending nothing, for the rest.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	switch {
	case f == math.Trunc(f) && math.Abs(f) < 1<<53:
		if f == 0 && math.Signbit(f) {
			return append(dst, "-0"...), true
		}
		return strconv.AppendInt(dst, int64(f), 10), true
	case math.Abs(f) >= 1e-6 && math.Abs(f) < 1e21:
		return strconv.AppendFloat(dst, f, 'f', -1, 64), true
	}
	return dst, false
}
