package dbservice

import (
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
