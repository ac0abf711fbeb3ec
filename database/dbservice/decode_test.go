package dbservice

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/roseybot/rosey/database"
)

// fastGet must agree with the strict decoder whenever it accepts a body.
func FuzzDecodeGet(f *testing.F) {
	for _, s := range []string{
		`{"collection":"quotes","id":42}`, `{"collection":"quotes","id":"abc"}`, `{"id":-0,"collection":"x"}`,
		`{"collection":"a","id":1.5}`, `{"collection":"a","id":1e3}`, `{"collection":"a","id":null}`,
		`{"collection":"a","extra":1}`, `{"Collection":"a"}`, `{"collection":"a\u0041"}`, `{"id":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast database.GetRequest
		if !fastGet(data, &fast) {
			return
		}
		var want database.GetRequest
		if err := decode(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, decode refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %#v, decode %#v", data, fast, want)
		}
	})
}

// FuzzEncodeSetResult: the set reply written by hand is json.Marshal's.
func FuzzEncodeSetResult(f *testing.F) {
	f.Add("abc", int64(0), false)
	f.Add("", int64(42), true)
	f.Add("x\"y<", int64(-1), false)
	f.Add("", int64(0), false)
	f.Fuzz(func(t *testing.T, s string, n int64, isInt bool) {
		id := database.StringID(s)
		if isInt {
			id = database.IntID(n)
		}
		want, _ := json.Marshal(database.SetResult{ID: id})
		if got := encodeSetResult(database.SetResult{ID: id}); string(got) != string(want) {
			t.Fatalf("got %s, json.Marshal %s", got, want)
		}
	})
}

// TestDecodeOneValue: a body is one JSON value, whitespace around it
// allowed; anything after it makes the body malformed, as before the
// value is decoded.
func TestDecodeOneValue(t *testing.T) {
	for body, code := range map[string]database.Code{
		`{"collection":"c","id":1}`:              "",
		" {\"collection\":\"c\",\"id\":1}\r\n\t": "",
		`{"collection":"c","id":1} x`:            database.CodeMalformed,
		`{"collection":"c","id":1}{}`:            database.CodeMalformed,
		"{\"collection\":\"c\",\"id\":1}\f":      database.CodeMalformed,
		`{"collection":"c","id":1.5}`:            database.CodeInvalidRequest,
		`{"collection":"c","id":1.5} x`:          database.CodeMalformed,
		`{"collection":"c","nope":1}`:            database.CodeInvalidRequest,
		`{"collection":`:                         database.CodeMalformed,
		``:                                       database.CodeMalformed,
	} {
		var req database.GetRequest
		err := decode([]byte(body), &req)
		switch {
		case code == "" && err != nil:
			t.Errorf("%q: %v", body, err)
		case code != "" && database.CodeOf(err) != code:
			t.Errorf("%q: got %v, want code %s", body, err, code)
		}
	}
}
