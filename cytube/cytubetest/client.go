package cytubetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/internal/socketio"
)

// ErrClientClosed is returned by a Client whose connection has ended.
var ErrClientClosed = errors.New("cytubetest: client connection closed")

// Client is another user in a channel, connected over a real websocket the
// way a browser is: what it sends goes through the server's parsing, flood
// control and broadcast, and it sees what that user would see. Tests use
// it to talk to a bot as people do; [Server.Say] is the shortcut that
// skips the user's own socket.
type Client struct {
	ws      *websocket.Conn
	name    string
	channel string

	wmu    sync.Mutex
	events chan ClientEvent
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// ClientEvent is one Socket.IO event a Client received.
type ClientEvent struct {
	Name string
	Args []json.RawMessage
}

// Dial connects a guest named name to the server and joins channel. It
// returns once the user list has arrived, that is once the client is in
// the channel. Close it when done (a test's Cleanup is a good place).
func (s *Server) Dial(ctx context.Context, channel, name string) (*Client, error) {
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{})
	if err != nil {
		return nil, fmt.Errorf("cytubetest: dial: %w", err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	c := &Client{ws: ws, name: name, channel: channel, events: make(chan ClientEvent, 1024), done: make(chan struct{})}
	go c.readLoop()
	if err := c.write(socketio.ConnectFrame); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.emit("login", map[string]any{"name": name}); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.emit("joinChannel", map[string]any{"name": channel}); err != nil {
		c.Close()
		return nil, err
	}
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("cytubetest: join %s as %s: %w", channel, name, err)
		}
		switch ev.Name {
		case "login":
			var r struct {
				Success bool   `json:"success"`
				Error   string `json:"error"`
			}
			if len(ev.Args) > 0 && json.Unmarshal(ev.Args[0], &r) == nil && !r.Success {
				c.Close()
				return nil, fmt.Errorf("cytubetest: login as %s: %s", name, r.Error)
			}
		case "userlist":
			return c, nil
		}
	}
}

// Name is the client's user name.
func (c *Client) Name() string { return c.name }

// Chat sends a chat line to the channel.
func (c *Client) Chat(msg string) error {
	return c.emit("chatMsg", map[string]any{"msg": msg, "meta": map[string]any{}})
}

// PM sends a private message to another user.
func (c *Client) PM(to, msg string) error {
	return c.emit("pm", map[string]any{"to": to, "msg": msg, "meta": map[string]any{}})
}

// Emit sends any event, as a hand-written client could: tests use it to
// see how the server treats events a user may not send.
func (c *Client) Emit(event string, arg any) error { return c.emit(event, arg) }

// Next returns the next event the client received (pings are answered
// for it), or an error when ctx ends or the connection closed.
func (c *Client) Next(ctx context.Context) (ClientEvent, error) {
	select {
	case ev := <-c.events:
		return ev, nil
	default:
	}
	select {
	case ev := <-c.events:
		return ev, nil
	case <-ctx.Done():
		return ClientEvent{}, ctx.Err()
	case <-c.done:
		select { // events that arrived before the end are still read
		case ev := <-c.events:
			return ev, nil
		default:
		}
		return ClientEvent{}, c.closedErr()
	}
}

// WaitChat returns the first chat line (chatMsg or pm) the client receives
// for which match is true, skipping the others.
func (c *Client) WaitChat(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return Message{}, err
		}
		if ev.Name != "chatMsg" && ev.Name != "pm" || len(ev.Args) == 0 {
			continue
		}
		var p struct {
			Username string         `json:"username"`
			Msg      string         `json:"msg"`
			Meta     map[string]any `json:"meta"`
			Time     int64          `json:"time"`
			To       string         `json:"to"`
		}
		if json.Unmarshal(ev.Args[0], &p) != nil {
			continue
		}
		m := Message{Channel: c.channel, From: p.Username, HTML: p.Msg, Meta: p.Meta, Time: p.Time}
		if ev.Name == "pm" {
			m.To = p.To
		}
		if match == nil || match(m) {
			return m, nil
		}
	}
}

// Close disconnects the client.
func (c *Client) Close() error {
	c.wmu.Lock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	c.wmu.Unlock()
	err := c.ws.Close()
	<-c.done
	return err
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return fmt.Errorf("%w: %w", ErrClientClosed, c.err)
	}
	return ErrClientClosed
}

func (c *Client) emit(event string, arg any) error {
	f, err := socketio.EncodeEvent(event, arg)
	if err != nil {
		return err
	}
	return c.write(f)
}

func (c *Client) write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("%w: %w", ErrClientClosed, err)
	}
	return nil
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		p, err := socketio.Parse(data)
		if err != nil {
			continue
		}
		switch {
		case p.Engine == socketio.EngineClose || p.Engine == socketio.EngineMessage && p.Type == socketio.Disconnect:
			// A kick ends with "41": the session is over.
			c.mu.Lock()
			c.err = errors.New("disconnected by the server")
			c.mu.Unlock()
			_ = c.ws.Close()
			return
		case p.Engine == socketio.EnginePing:
			_ = c.write(socketio.PongFrame)
		case p.Engine == socketio.EngineMessage && p.Type == socketio.Event:
			select {
			case c.events <- ClientEvent{Name: p.Name, Args: p.Args}:
			default: // a test that stopped reading loses the oldest news, not the connection
				select {
				case <-c.events:
				default:
				}
				c.events <- ClientEvent{Name: p.Name, Args: p.Args}
			}
		}
	}
}
