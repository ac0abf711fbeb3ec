package router

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// The fast reader of plugin replies must agree with encoding/json whenever
// it accepts a body. (Chat bodies: internal/chatevent.)
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"result":"🎲 Rolled 2d6: [3, 5] = 8"}`, `{"error":"❌ bad"}`, `{"result":"","error":""}`,
		`{"result":"a\nb"}`, `{"result":1}`, `{"ok":true}`, `{"result":"x"`, `{"result":"<b>&</b>"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast plugin.Response
		if !fastResponse(data, &fast) {
			return
		}
		var want plugin.Response
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", data, fast, want)
		}
	})
}

func TestFastReadersTakeThePlainShapes(t *testing.T) {
	var r plugin.Response
	body, _ := json.Marshal(plugin.Response{Result: "pong"})
	if !fastResponse(body, &r) || r.Result != "pong" {
		t.Fatalf("a plugin's reply was not read: %+v", r)
	}
}

// The fast writers must write exactly what encoding/json writes.
func FuzzEncodeRequest(f *testing.F) {
	f.Add("roll", "2d6", "+1", "2d6 +1", "alice", "lounge", 1.0, "chat", false)
	f.Add("quote", "<b>", "", "a\"b", "é✓", "", 2.5, "pm", true)
	f.Fuzz(func(t *testing.T, cmd, a1, a2, text, user, channel string, rank float64, source string, nilArgs bool) {
		req := plugin.Request{Command: cmd, Args: []string{a1, a2}, Text: text, User: user, Channel: channel, Rank: rank, Source: source}
		if nilArgs {
			req.Args = nil
		}
		got, err := encodeRequest(req)
		want, werr := json.Marshal(req)
		if (err == nil) != (werr == nil) || string(got) != string(want) {
			t.Fatalf("%#v:\n got %s (%v)\nwant %s (%v)", req, got, err, want, werr)
		}
	})
}

func FuzzEncodeSendChat(f *testing.F) {
	f.Add("🎲 Rolled 2d6: [3, 5] = 8", "")
	f.Add("a & b", "lounge")
	f.Fuzz(func(t *testing.T, msg, channel string) {
		m := protocol.SendChatRequest{Message: msg, Channel: channel}
		got, err := encodeSendChat(m)
		want, _ := json.Marshal(m)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%#v:\n got %s (%v)\nwant %s", m, got, err, want)
		}
	})
}
