package router

import (
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/internal/flatjson"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// decodeResponse reads a plugin's reply like chatevent.Decode reads chat; the
// envelope is only looked at when the body needs encoding/json.
func decodeResponse(m *nats.Msg, prefix string, r *plugin.Response) error {
	if fastResponse(m.Data, r) {
		return nil
	}
	return busevent.FromMsg(m, prefix).Decode(r)
}

func fastResponse(data []byte, r *plugin.Response) bool {
	var p plugin.Response
	ok := flatjson.Scan(data, func(k []byte, v flatjson.Value) bool {
		switch string(k) {
		case "result":
			return v.Str(&p.Result)
		case "error":
			return v.Str(&p.Error)
		}
		return false
	})
	if ok {
		*r = p
	}
	return ok
}

// encodeRequest writes req as encoding/json would, without reflection when
// every string is plain.
func encodeRequest(req plugin.Request) ([]byte, error) {
	b := make([]byte, 0, 128+len(req.Text)*2)
	b = append(b, `{"command":`...)
	b, ok := flatjson.AppendString(b, req.Command)
	if ok {
		if req.Args == nil {
			b = append(b, `,"args":null`...)
		} else {
			b = append(b, `,"args":[`...)
			for i, a := range req.Args {
				if i > 0 {
					b = append(b, ',')
				}
				if b, ok = flatjson.AppendString(b, a); !ok {
					break
				}
			}
			b = append(b, ']')
		}
	}
	for _, f := range []struct{ key, val string }{{`,"text":`, req.Text}, {`,"user":`, req.User}, {`,"channel":`, req.Channel}} {
		if !ok {
			break
		}
		b = append(b, f.key...)
		b, ok = flatjson.AppendString(b, f.val)
	}
	if ok {
		b = append(b, `,"rank":`...)
		b, ok = flatjson.AppendFloat(b, req.Rank)
	}
	if ok {
		b = append(b, `,"source":`...)
		b, ok = flatjson.AppendString(b, req.Source)
	}
	if !ok {
		return json.Marshal(req)
	}
	return append(b, '}'), nil
}

// encodeSendChat writes a cytube.send.chat body like encodeRequest.
func encodeSendChat(m protocol.SendChatRequest) ([]byte, error) {
	b := make([]byte, 0, 32+len(m.Message)+len(m.Channel))
	b = append(b, `{"message":`...)
	b, ok := flatjson.AppendString(b, m.Message)
	if ok && m.Channel != "" {
		b = append(b, `,"channel":`...)
		b, ok = flatjson.AppendString(b, m.Channel)
	}
	if !ok {
		return json.Marshal(m)
	}
	return append(b, '}'), nil
}
