package dbservice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/roseybot/rosey/database"
)

// Names are checked against strict patterns even though they only ever
// reach SQL as bound parameters: it keeps odd input out of logs and paths.
// The checks are loops, not regexps: the patterns' counted repetitions
// ({0,63}) compiled to 100 kB of heap, kept in every process that links
// the package, and they run on every request.

func alnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }

// name reports whether s is 1 to 64 bytes, the first passing first and
// the others rest.
func name(s string, first, rest func(byte) bool) bool {
	if len(s) == 0 || len(s) > 64 || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

// wireName: a collection as a client names it, [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}.
func wireName(s string) bool {
	return name(s, alnum, func(b byte) bool { return alnum(b) || b == '_' || b == '.' || b == ':' || b == '-' })
}

// namespaceName: [A-Za-z0-9_-]{1,64}.
func namespaceName(s string) bool {
	nsByte := func(b byte) bool { return alnum(b) || b == '_' || b == '-' }
	return name(s, nsByte, nsByte)
}

// collectionName: a collection as stored, in a namespace
// "<namespace>/<name>".
func collectionName(s string) bool {
	if ns, c, ok := strings.Cut(s, "/"); ok {
		return namespaceName(ns) && wireName(c)
	}
	return wireName(s)
}

// fieldName: [A-Za-z_][A-Za-z0-9_]{0,63}.
func fieldName(s string) bool {
	return name(s, func(b byte) bool { return alnum(b) && (b < '0' || b > '9') || b == '_' },
		func(b byte) bool { return alnum(b) || b == '_' })
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{database.ErrInvalidRequest}, args...)...)
}

// namespaceOf returns the namespace token of a namespaced subject,
// database.<namespace>.<op> (the subject prefix already removed).
func namespaceOf(subject string) string {
	rest, _ := strings.CutPrefix(subject, "database.")
	ns, _, _ := strings.Cut(rest, ".")
	return ns
}

// scope puts a collection named on a namespaced subject into its namespace.
// On the default subjects (ns "") the name is used as it is: there it may
// also be written "<namespace>/<name>" to reach a namespace, which is why
// least-privilege users get no default subject.
func scope(ns string, collection *string) error {
	if ns == "" {
		return nil
	}
	if !namespaceName(ns) {
		return invalid("namespace: %q is not a valid name (letters, digits, _ and -, at most 64)", truncate(ns))
	}
	if ns == database.ReservedNamespace {
		return invalid("namespace: %q is reserved (database.schema.register is the default namespace's)", ns)
	}
	if *collection == "" {
		return invalid("collection: required")
	}
	if !wireName(*collection) {
		return invalid("collection: %q is not a valid name (letters, digits and _ . : -, at most 64, starting with a letter or digit)", truncate(*collection))
	}
	*collection = ns + "/" + *collection
	return nil
}

func checkCollection(c string) error {
	if c == "" {
		return invalid("collection: required")
	}
	if !collectionName(c) {
		return invalid("collection: %q is not a valid name (letters, digits and _ . : -, at most 64, starting with a letter or digit)", truncate(c))
	}
	return nil
}

func checkID(id database.ID) error {
	if id.IsZero() {
		return invalid("id: required")
	}
	if id.IsInt() {
		return nil
	}
	s := id.String()
	if len(s) > database.MaxIDLen || !utf8.ValidString(s) {
		return invalid("id: strings must be valid UTF-8 of at most %d bytes", database.MaxIDLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid("id: control characters are not allowed")
		}
	}
	return nil
}

func checkField(where, f string) error {
	if !fieldName(f) {
		return invalid("%s: field %q is not a valid name (letters, digits and _, at most 64, not starting with a digit)", where, truncate(f))
	}
	return nil
}

// checkDoc checks that raw is a JSON object within the size limit and
// returns it compacted.
func (s *Store) checkDoc(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) > s.cfg.MaxDocumentSize {
		return nil, fmt.Errorf("%w: data: %d bytes, the limit is %d", database.ErrTooLarge, len(raw), s.cfg.MaxDocumentSize)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, invalid("data: required (a JSON object)")
	}
	if raw[0] != '{' {
		return nil, invalid("data: must be a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("%w: data: %v", database.ErrMalformed, err)
	}
	// PostgreSQL's jsonb cannot hold NUL characters; refuse them everywhere
	// so both backends accept the same documents.
	if bytes.Contains(b.Bytes(), []byte(`\u0000`)) {
		return nil, invalid("data: strings must not contain NUL (\\u0000)")
	}
	if jsonDepth(b.Bytes()) > maxDepth {
		return nil, invalid("data: nested deeper than %d levels", maxDepth)
	}
	if !utf8.Valid(b.Bytes()) {
		return nil, invalid("data: not valid UTF-8")
	}
	if loneSurrogate(b.Bytes()) {
		return nil, invalid("data: strings must be Unicode text: a \\u escape of a UTF-16 surrogate (D800-DFFF) must be a high one followed by a low one")
	}
	return b.Bytes(), nil
}

// loneSurrogate reports whether valid JSON b escapes half of a UTF-16
// surrogate pair without the other half (as "\ud800"): JSON's grammar
// allows it, but it is no Unicode text, and PostgreSQL's jsonb refuses it.
func loneSurrogate(b []byte) bool {
	if !bytes.Contains(b, []byte(`\u`)) {
		return false
	}
	half := func(i int) (rune, bool) { // the \uXXXX escape at b[i:]
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range b[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			}
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := half(i)
		if !ok {
			i++ // another escape: skip the escaped character
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low half first
		case r >= 0xD800 && r <= 0xDBFF:
			low, ok := half(i + 6)
			if !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// maxDepth bounds nesting: SQLite's JSON functions stop at 1000 levels, and
// a document they cannot read would break every query of its collection.
const maxDepth = 64

// jsonDepth returns the deepest nesting of valid, compact JSON.
func jsonDepth(b []byte) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
