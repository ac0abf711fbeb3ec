package database

import (
	"encoding/json"
	"testing"
)

// encodeGet must write what json.Marshal writes.
func FuzzEncodeGet(f *testing.F) {
	f.Add("quotes", "abc", int64(0), false)
	f.Add("quotes", "", int64(42), true)
	f.Add("a<b", "x\"y", int64(-1), false)
	f.Add("c", "", int64(0), false)
	f.Fuzz(func(t *testing.T, coll, s string, n int64, isInt bool) {
		id := StringID(s)
		if isInt {
			id = IntID(n)
		}
		want, _ := json.Marshal(GetRequest{Collection: coll, ID: id})
		got := encodeGet(coll, id)
		if b, ok := got.([]byte); ok {
			if string(b) != string(want) {
				t.Fatalf("got %s, json.Marshal %s", b, want)
			}
		}
	})
}

func TestEncodeGetWritesPlainRequestsItself(t *testing.T) {
	for _, id := range []ID{StringID("abc"), IntID(42)} {
		got, ok := encodeGet("quotes", id).([]byte)
		want, _ := json.Marshal(GetRequest{Collection: "quotes", ID: id})
		if !ok || string(got) != string(want) {
			t.Fatalf("%v: got %v (fast path %v), want %s", id, got, ok, want)
		}
	}
}
