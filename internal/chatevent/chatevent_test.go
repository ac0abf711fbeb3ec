package chatevent_test

import (
	"encoding/json"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/protocol"
)

func TestFastReadsTheConnectorsShape(t *testing.T) {
	is := is.New(t)
	var m protocol.ChatMessage
	is.True(chatevent.Fast([]byte(`{"user":"alice","message":"hi there","channel":"lounge","rank":1.5,"time":1795843084650}`), &m))
	is.Equal(m, protocol.ChatMessage{User: "alice", Message: "hi there", Channel: "lounge", Rank: 1.5, Time: 1795843084650})
	is.True(!chatevent.Fast([]byte(`{"user":"a\u00e9"}`), &m)) // an escape: left to encoding/json
	is.Equal(m.User, "alice")                                  // untouched
}

// FuzzFast: whenever Fast reads a body, encoding/json reads the same.
func FuzzFast(f *testing.F) {
	for _, s := range []string{
		`{"user":"alice","message":"!roll 2d6","channel":"c","rank":1,"time":1795843084650}`,
		`{"user":"bob","message":"","rank":-1}`, `{"user":null}`, `{"user":"x","user":"y"}`, `{"rank":1e400}`,
		`{"time":1.5}`, `{"message":"a\"b"}`, `[]`, `{`, `{"extra":1}`, `{"user":"\xff"}`,
		`{"user":"bob","message":"héllo ✓","channel":"c","rank":2.5,"time":-1}`, ` { "user" : "x" , "message" : "" } `,
		`{"USER":"x"}`, `{"user":"x"} trailing`, "{\"user\":\"\x01\"}", `{"rank":-0.0e-5}`, `{"time":01}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast protocol.ChatMessage
		if !chatevent.Fast(data, &fast) {
			return
		}
		var slow protocol.ChatMessage
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("Fast read %q, encoding/json refuses it: %v", data, err)
		}
		if fast != slow {
			t.Fatalf("%q: Fast read %+v, encoding/json %+v", data, fast, slow)
		}
	})
}
