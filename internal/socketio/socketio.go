// Package socketio parses and builds the Engine.IO v4 / Socket.IO v4 text
// frames that CyTube speaks over a websocket. Each websocket text frame holds
// exactly one Engine.IO packet (no batching on the websocket transport), so a
// frame is parsed on its own.
//
// Only what CyTube uses is supported: text frames, the default namespace
// (other namespaces are parsed but not interpreted), events, acks, connect,
// disconnect and connect errors. Binary packets are rejected.
package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO packet types: the first character of a frame.
const (
	EngineOpen    byte = '0'
	EngineClose   byte = '1'
	EnginePing    byte = '2'
	EnginePong    byte = '3'
	EngineMessage byte = '4'
	EngineUpgrade byte = '5'
	EngineNoop    byte = '6'
)

// Socket.IO packet types: the character after an Engine.IO message's '4'.
const (
	Connect      byte = '0'
	Disconnect   byte = '1'
	Event        byte = '2'
	Ack          byte = '3'
	ConnectError byte = '4'
	BinaryEvent  byte = '5'
	BinaryAck    byte = '6'
)

// MaxAckID bounds ack ids; socket.io uses small counters, and the bound keeps
// a hostile frame from overflowing.
const MaxAckID = 1<<31 - 1

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("socketio: malformed packet")

// Packet is one parsed frame.
type Packet struct {
	// Engine is the Engine.IO type (EngineOpen … EngineNoop).
	Engine byte
	// Type is the Socket.IO type (Connect … BinaryAck) when Engine is
	// EngineMessage, else 0.
	Type byte
	// Namespace is "/" unless the packet names another.
	Namespace string
	// ID is the ack id, or -1 when there is none.
	ID int64
	// Data is the raw JSON payload: the open handshake, a connect or
	// connect-error object, the event array or the ack array. Empty when the
	// packet carries none (e.g. "40", "41", a bare ping).
	Data json.RawMessage
	// Name is the event name for Event packets.
	Name string
	// Args are the event's arguments (after the name) or the ack's values.
	Args []json.RawMessage
}

// Arg returns argument i, or nil when the event has fewer arguments. A JSON
// null argument is returned as nil too, so callers treat "no argument" and
// "null" alike, as CyTube's events need.
func (p *Packet) Arg(i int) json.RawMessage {
	if i < 0 || i >= len(p.Args) {
		return nil
	}
	a := p.Args[i]
	if string(a) == "null" {
		return nil
	}
	return a
}

// Parse parses one text frame. It never panics; bad input gives an error
// wrapping ErrMalformed.
func Parse(frame []byte) (Packet, error) {
	p := Packet{ID: -1, Namespace: "/"}
	if len(frame) == 0 {
		return p, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	p.Engine = frame[0]
	rest := frame[1:]
	switch p.Engine {
	case EngineOpen:
		if !json.Valid(rest) {
			return p, fmt.Errorf("%w: open packet without a JSON handshake", ErrMalformed)
		}
		p.Data = json.RawMessage(rest)
		return p, nil
	case EngineClose, EnginePing, EnginePong, EngineUpgrade, EngineNoop:
		// Ping and pong may carry a probe string; it is kept as raw bytes.
		if len(rest) > 0 {
			p.Data = json.RawMessage(rest)
		}
		return p, nil
	case EngineMessage:
	default:
		return p, fmt.Errorf("%w: unknown engine.io type %q", ErrMalformed, p.Engine)
	}
	if len(rest) == 0 {
		return p, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	p.Type = rest[0]
	rest = rest[1:]
	switch p.Type {
	case Connect, Disconnect, Event, Ack, ConnectError:
	case BinaryEvent, BinaryAck:
		return p, fmt.Errorf("%w: binary packets are not supported", ErrMalformed)
	default:
		return p, fmt.Errorf("%w: unknown socket.io type %q", ErrMalformed, p.Type)
	}
	// Optional namespace: "/name," (the comma may be omitted when nothing follows).
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			p.Namespace = string(rest)
			rest = nil
		} else {
			p.Namespace = string(rest[:i])
			rest = rest[i+1:]
		}
	}
	// Optional ack id: digits before the payload.
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		id, err := strconv.ParseInt(string(rest[:n]), 10, 64)
		if err != nil || id > MaxAckID {
			return p, fmt.Errorf("%w: bad ack id", ErrMalformed)
		}
		p.ID = id
		rest = rest[n:]
	}
	if len(rest) > 0 {
		if !json.Valid(rest) {
			return p, fmt.Errorf("%w: payload is not JSON", ErrMalformed)
		}
		p.Data = json.RawMessage(rest)
	}
	switch p.Type {
	case Event:
		var arr []json.RawMessage
		if err := json.Unmarshal(p.Data, &arr); err != nil || len(arr) == 0 {
			return p, fmt.Errorf("%w: event payload must be a non-empty array", ErrMalformed)
		}
		if err := json.Unmarshal(arr[0], &p.Name); err != nil {
			return p, fmt.Errorf("%w: event name must be a string", ErrMalformed)
		}
		p.Args = arr[1:]
	case Ack:
		if p.ID < 0 {
			return p, fmt.Errorf("%w: ack without id", ErrMalformed)
		}
		if err := json.Unmarshal(p.Data, &p.Args); err != nil {
			return p, fmt.Errorf("%w: ack payload must be an array", ErrMalformed)
		}
	}
	return p, nil
}

// Frames that carry no payload.
var (
	PingFrame       = []byte{EnginePing}
	PongFrame       = []byte{EnginePong}
	ConnectFrame    = []byte{EngineMessage, Connect}
	DisconnectFrame = []byte{EngineMessage, Disconnect}
	CloseFrame      = []byte{EngineClose}
)

// EncodeEvent builds "42[name,args...]". A nil argument list sends the name
// alone, as CyTube's argument-less events do.
func EncodeEvent(name string, args ...any) ([]byte, error) {
	return encodeEvent(-1, name, args)
}

// EncodeEventAck builds "42<id>[name,args...]": an event that asks for an ack.
func EncodeEventAck(id int64, name string, args ...any) ([]byte, error) {
	if id < 0 || id > MaxAckID {
		return nil, fmt.Errorf("socketio: ack id %d out of range", id)
	}
	return encodeEvent(id, name, args)
}

func encodeEvent(id int64, name string, args []any) ([]byte, error) {
	arr := make([]any, 0, 1+len(args))
	arr = append(arr, name)
	arr = append(arr, args...)
	var buf bytes.Buffer
	buf.WriteByte(EngineMessage)
	buf.WriteByte(Event)
	if id >= 0 {
		buf.WriteString(strconv.FormatInt(id, 10))
	}
	// Like JSON.stringify, leave & < > alone: chat text is full of them.
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(arr); err != nil {
		return nil, fmt.Errorf("socketio: encode %s: %w", name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// EncodeAck builds "43<id>[values...]".
func EncodeAck(id int64, values ...any) ([]byte, error) {
	if id < 0 || id > MaxAckID {
		return nil, fmt.Errorf("socketio: ack id %d out of range", id)
	}
	if values == nil {
		values = []any{}
	}
	body, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("socketio: encode ack: %w", err)
	}
	buf := append([]byte{EngineMessage, Ack}, strconv.AppendInt(nil, id, 10)...)
	return append(buf, body...), nil
}

// EncodeOpen builds the server's "0{...}" handshake.
func EncodeOpen(h Handshake) ([]byte, error) {
	body, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("socketio: encode open: %w", err)
	}
	return append([]byte{EngineOpen}, body...), nil
}

// EncodeConnect builds the server's "40{...}" reply to a connect.
func EncodeConnect(sid string) []byte {
	body, _ := json.Marshal(map[string]string{"sid": sid})
	return append([]byte{EngineMessage, Connect}, body...)
}

// EncodeConnectError builds "44{"message":...}".
func EncodeConnectError(message string) []byte {
	body, _ := json.Marshal(map[string]string{"message": message})
	return append([]byte{EngineMessage, ConnectError}, body...)
}

// Handshake is the JSON of the Engine.IO open packet. Intervals are in
// milliseconds, as on the wire.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// ConnectErrorMessage extracts the message of a connect-error packet. It
// accepts the EIO=4 object form {"message":…} and the EIO=3 bare string.
func ConnectErrorMessage(data json.RawMessage) string {
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		return s
	}
	return string(data)
}
