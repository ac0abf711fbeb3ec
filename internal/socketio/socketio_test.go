package socketio_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/socketio"
)

func TestParseFrames(t *testing.T) {
	is := is.New(t)

	p, err := socketio.Parse([]byte(`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":120000,"maxPayload":1048576}`))
	is.NoErr(err)
	is.Equal(p.Engine, socketio.EngineOpen)
	var h socketio.Handshake
	is.NoErr(json.Unmarshal(p.Data, &h))
	is.Equal(h.PingInterval, int64(25000))

	p, err = socketio.Parse([]byte("2"))
	is.NoErr(err)
	is.Equal(p.Engine, socketio.EnginePing)

	p, err = socketio.Parse([]byte(`40{"sid":"x"}`))
	is.NoErr(err)
	is.Equal(p.Type, socketio.Connect)

	p, err = socketio.Parse([]byte(`41`))
	is.NoErr(err)
	is.Equal(p.Type, socketio.Disconnect)

	p, err = socketio.Parse([]byte(`44{"message":"Rate limit exceeded"}`))
	is.NoErr(err)
	is.Equal(socketio.ConnectErrorMessage(p.Data), "Rate limit exceeded")
	p, err = socketio.Parse([]byte(`44"Rate limit exceeded"`))
	is.NoErr(err)
	is.Equal(socketio.ConnectErrorMessage(p.Data), "Rate limit exceeded")

	// Events with zero, one and null arguments.
	p, err = socketio.Parse([]byte(`42["channelNotRegistered"]`))
	is.NoErr(err)
	is.Equal(p.Name, "channelNotRegistered")
	is.Equal(len(p.Args), 0)
	is.Equal(p.Arg(0), nil)

	p, err = socketio.Parse([]byte(`42["closePoll",null]`))
	is.NoErr(err)
	is.Equal(p.Name, "closePoll")
	is.Equal(p.Arg(0), nil)

	p, err = socketio.Parse([]byte(`42["rank",1.5]`))
	is.NoErr(err)
	is.Equal(string(p.Arg(0)), "1.5")

	// Ack request and ack reply, with namespace.
	p, err = socketio.Parse([]byte(`421["newPoll",{"title":"t"}]`))
	is.NoErr(err)
	is.Equal(p.ID, int64(1))
	is.Equal(p.Name, "newPoll")
	p, err = socketio.Parse([]byte(`43/admin,7[{}]`))
	is.NoErr(err)
	is.Equal(p.Namespace, "/admin")
	is.Equal(p.ID, int64(7))
	is.Equal(len(p.Args), 1)
}

func TestParseRejects(t *testing.T) {
	is := is.New(t)
	for _, f := range []string{
		"", "9", "4", "47", `{"name":"chatMsg","args":[]}`, `42`, `42[]`, `42[1]`, `42{"a":1}`,
		`42["x"`, `451-["x"]`, `43[]`, `4299999999999999999999["x"]`, `0notjson`,
	} {
		_, err := socketio.Parse([]byte(f))
		is.True(errors.Is(err, socketio.ErrMalformed)) // each bad frame is rejected
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	is := is.New(t)
	b, err := socketio.EncodeEvent("chatMsg", map[string]any{"msg": "hi <b>", "meta": map[string]any{}})
	is.NoErr(err)
	is.True(strings.HasPrefix(string(b), `42["chatMsg",`))
	p, err := socketio.Parse(b)
	is.NoErr(err)
	is.Equal(p.Name, "chatMsg")

	b, err = socketio.EncodeEvent("playNext")
	is.NoErr(err)
	is.Equal(string(b), `42["playNext"]`)

	b, err = socketio.EncodeAck(3, map[string]any{})
	is.NoErr(err)
	is.Equal(string(b), `433[{}]`)

	b, err = socketio.EncodeEventAck(5, "newPoll", 1)
	is.NoErr(err)
	is.Equal(string(b), `425["newPoll",1]`)
}

func FuzzPacket(f *testing.F) {
	for _, s := range []string{
		`0{"sid":"a","pingInterval":25000}`, "2", "3", "40", `40{"sid":"x"}`, "41",
		`42["chatMsg",{"username":"a","msg":"b","time":1}]`, `421["newPoll",{}]`, `43/x,1[{}]`,
		`44{"message":"m"}`, `42["closePoll",null]`, `{"name":"x"}`, "", "4", "451-",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := socketio.Parse(frame)
		if err != nil {
			if !errors.Is(err, socketio.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		_ = p.Arg(0)
		if p.Engine == socketio.EngineMessage && p.Type == socketio.Event {
			// A parsed event survives re-encoding with the same name and arity.
			args := make([]any, len(p.Args))
			for i, a := range p.Args {
				args[i] = a
			}
			b, err := socketio.EncodeEvent(p.Name, args...)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			q, err := socketio.Parse(b)
			if err != nil || q.Name != p.Name || len(q.Args) != len(p.Args) {
				t.Fatalf("round trip of %q: %q %v", frame, b, err)
			}
		}
	})
}
