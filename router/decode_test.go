package router

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// The fast readers must agree with encoding/json whenever they accept a
// body, and accept the plain shapes that make them worth having.
func FuzzDecodeChat(f *testing.F) {
	for _, s := range []string{
		`{"user":"alice","message":"!roll 2d6","channel":"lounge","rank":1,"time":1795843084650}`,
		`{"user":"bob","message":"héllo ✓","channel":"c","rank":2.5,"time":-1}`,
		` { "user" : "x" , "message" : "" } `,
		`{"user":"a\"b","message":"m"}`, `{"USER":"x"}`, `{"rank":1e400}`, `{"time":1.5}`,
		`{"user":null}`, `{"message":"a","message":"b"}`, `{"user":"x"} trailing`, "{\"user\":\"\x01\"}",
		`{"rank":-0.0e-5}`, `{"time":01}`, `{}`, `[]`, `{"user":"\xff"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast protocol.ChatMessage
		if !fastChat(data, &fast) {
			return
		}
		var want protocol.ChatMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", data, fast, want)
		}
	})
}

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
	var m protocol.ChatMessage
	body, _ := json.Marshal(protocol.ChatMessage{User: "alice", Message: "!roll 2d6", Channel: "lounge", Rank: 1, Time: 1795843084650})
	if !fastChat(body, &m) || m.Message != "!roll 2d6" || m.Time != 1795843084650 {
		t.Fatalf("the connector's own shape was not read: %+v", m)
	}
	var r plugin.Response
	body, _ = json.Marshal(plugin.Response{Result: "pong"})
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
