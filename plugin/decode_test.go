package plugin

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast reader must agree with encoding/json whenever it accepts a body.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"command":"roll","args":["2d6","+1"],"text":"2d6 +1","user":"alice","channel":"lounge","rank":1,"source":"chat"}`,
		`{"command":"help","args":[],"text":"","user":"bob","channel":"","rank":0,"source":"pm"}`,
		`{"args":["a","b"],"args":["c"]}`, `{"args":null}`, `{"args":[1]}`, `{"args":["x\"y"]}`,
		`{"rank":"1"}`, `{"Command":"x"}`, `{"command":"é✓"}`, `{"args":[ "a" , "b" ]}`, `{"args":["a",]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Request
		if !fastRequest(data, &fast) {
			return
		}
		var want Request
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %#v, encoding/json %#v", data, fast, want)
		}
	})
}

func TestFastRequestTakesTheRoutersShape(t *testing.T) {
	body, _ := json.Marshal(Request{Command: "roll", Args: []string{}, Text: "", User: "alice", Channel: "c", Rank: 1, Source: SourceChat})
	var r Request
	if !fastRequest(body, &r) || r.Command != "roll" || r.Args == nil {
		t.Fatalf("the router's own shape was not read: %#v", r)
	}
}

// The fast writer must write exactly what encoding/json writes.
func FuzzEncodeResponse(f *testing.F) {
	f.Add("🎲 Rolled 2d6: [3, 5] = 8", "")
	f.Add("", "❌ <bad> & \"worse\"")
	f.Add("a", "b")
	f.Fuzz(func(t *testing.T, result, errText string) {
		r := Response{Result: result, Error: errText}
		want, _ := json.Marshal(r)
		if got := encodeResponse(r); string(got) != string(want) {
			t.Fatalf("%#v:\n got %s\nwant %s", r, got, want)
		}
	})
}
