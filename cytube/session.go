package cytube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/internal/socketio"
	"github.com/roseybot/rosey/protocol"
)

// session is one websocket connection, from dial to close. Its frames are
// handled on the connector's run goroutine; only writes are shared.
type session struct {
	c         *Connector
	ws        *websocket.Conn
	wmu       sync.Mutex
	ctx       context.Context
	deadAfter time.Duration
	joined    bool // the first userlist arrived: chat from now on is live
	retry     *time.Timer
	// joinBy is when the join must have happened (userlist received) once
	// joinChannel was sent; a server that keeps pinging but never lets the
	// bot in would otherwise hold it forever.
	joinBy time.Time
	// maxPayload is the largest frame the server takes (the handshake's
	// maxPayload; CyTube closes the connection on a larger one).
	maxPayload int
	// ended is set, under Connector.acts.mu, once the session is over:
	// nothing sent on it will be answered; gone is closed then.
	ended bool
	gone  chan struct{}
	// A registered bot gets its channel rank from CyTube's database after
	// the join burst: rankLoaded is set by a rank that came after
	// joinChannel; until it comes (or readyBy passes) a joined session
	// waits (waitRank) before it is ready, so that no action is checked
	// against the bot's global rank.
	rankLoaded, waitRank, ready bool
	readyBy                     time.Time
	// replayed holds the server times of the bot's own lines in the
	// history replayed on joining (see lost.go). over is set, under
	// Connector.flightMu, once the lines written on s are counted lost:
	// no line may be written on it after that.
	replayed []float64
	over     bool
}

// makeReady makes s the session that messages and actions go out on.
func (s *session) makeReady() {
	s.waitRank, s.ready = false, true
	s.c.sessionReady(s)
}

// errTooLarge is returned for a frame over the server's message size limit.
var errTooLarge = errors.New("cytube: too large for CyTube")

// defaultMaxPayload is CyTube's maxHttpBufferSize, for a handshake that
// does not say.
const defaultMaxPayload = 1 << 20

// discover asks the site for the channel's socket URL.
func (c *Connector) discover(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	u := c.cfg.Server + "/socketconfig/" + url.PathEscape(c.cfg.Channel) + ".json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDiscovery, err)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDiscovery, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Error   string `json:"error"`
		Servers []struct {
			URL    string `json:"url"`
			Secure bool   `json:"secure"`
			IPv6   bool   `json:"ipv6"`
		} `json:"servers"`
	}
	_ = json.Unmarshal(body, &doc)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		msg := doc.Error
		if msg == "" {
			msg = "socketconfig answered 404"
		}
		return "", fmt.Errorf("%w: %s: %s", ErrNoSuchChannel, c.cfg.Channel, msg)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%w: %s answered %s %s", ErrDiscovery, u, resp.Status, doc.Error)
	}
	best, score := "", -1
	for _, s := range doc.Servers {
		p, err := url.Parse(s.URL)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			continue
		}
		sc := 0 // prefer secure, then non-IPv6
		if s.Secure {
			sc += 2
		}
		if !s.IPv6 {
			sc++
		}
		if sc > score {
			best, score = s.URL, sc
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: %s lists no usable server", ErrDiscovery, u)
	}
	p, _ := url.Parse(best)
	p.Scheme = map[string]string{"http": "ws", "https": "wss"}[p.Scheme]
	p.Path = strings.TrimRight(p.Path, "/") + "/socket.io/"
	p.RawQuery = "EIO=4&transport=websocket"
	return p.String(), nil
}

// connectOnce runs one connection to its end and reports how long it was
// joined (zero if it never joined) and why it ended.
func (c *Connector) connectOnce(ctx context.Context) (time.Duration, error) {
	wsURL, err := c.discover(ctx)
	if err != nil {
		return 0, err
	}
	if err := c.connLim.Wait(ctx); err != nil {
		return 0, err
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	ws, resp, err := c.dialer.DialContext(dctx, wsURL, nil)
	cancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("cytube: dial %s: %w", wsURL, err)
	}
	ws.SetReadLimit(4 << 20)
	s := &session{c: c, ws: ws, ctx: ctx, deadAfter: c.cfg.HandshakeTimeout, maxPayload: defaultMaxPayload, gone: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	err = s.loop()
	stop()
	if s.retry != nil {
		s.retry.Stop()
	}
	s.wmu.Lock()
	_ = ws.Close()
	s.wmu.Unlock()
	c.sessionEnded(s)
	var up time.Duration
	if s.ready {
		c.mu.Lock()
		up = time.Since(c.since)
		c.mu.Unlock()
	}
	return up, err
}

func (s *session) write(frame []byte) error {
	if len(frame) > s.maxPayload {
		return fmt.Errorf("%w: the frame would be %d bytes and CyTube closes the connection over %d", errTooLarge, len(frame), s.maxPayload)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.ws.SetWriteDeadline(time.Now().Add(s.c.cfg.WriteTimeout))
	err := s.ws.WriteMessage(websocket.TextMessage, frame)
	if err != nil {
		// Every later write fails too (a timed-out websocket is broken for
		// good) while reads may go on: close it, so that the read loop ends
		// and the connector reconnects now.
		_ = s.ws.UnderlyingConn().Close()
	}
	return err
}

func (s *session) emit(event string, arg any) error {
	f, err := socketio.EncodeEvent(event, arg)
	if err != nil {
		return err
	}
	return s.write(f)
}

func (s *session) loop() error {
	for {
		deadline := time.Now().Add(s.deadAfter)
		if !s.joined && !s.joinBy.IsZero() && s.joinBy.Before(deadline) {
			deadline = s.joinBy
		}
		_ = s.ws.SetReadDeadline(deadline)
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !s.joined && !s.joinBy.IsZero() && !time.Now().Before(s.joinBy) {
					return fmt.Errorf("%w: joined no channel within %s of asking", ErrProtocol, s.c.cfg.HandshakeTimeout)
				}
				return fmt.Errorf("%w: nothing received for %s", ErrDeadConnection, s.deadAfter)
			}
			return fmt.Errorf("%w: %v", ErrDisconnected, err)
		}
		if err := s.handle(data); err != nil {
			return err
		}
		if s.waitRank && !time.Now().Before(s.readyBy) {
			s.c.log.Warn("no channel rank from CyTube after joining; going on with the rank it gave", "waited", s.c.cfg.HandshakeTimeout)
			s.makeReady()
		}
		if !s.joined && !s.joinBy.IsZero() && !time.Now().Before(s.joinBy) {
			return fmt.Errorf("%w: joined no channel within %s of asking", ErrProtocol, s.c.cfg.HandshakeTimeout)
		}
	}
}

func (s *session) handle(data []byte) error {
	c := s.c
	p, err := socketio.Parse(data)
	if err != nil {
		c.malformed.Add(1)
		c.log.Debug("ignoring malformed frame", "err", err, "len", len(data))
		return nil
	}
	switch p.Engine {
	case socketio.EngineOpen:
		var h socketio.Handshake
		_ = json.Unmarshal(p.Data, &h)
		s.deadAfter = c.cfg.DeadAfter
		if s.deadAfter == 0 {
			s.deadAfter = time.Duration(h.PingInterval+h.PingTimeout) * time.Millisecond
		}
		if s.deadAfter <= 0 {
			s.deadAfter = 145 * time.Second
		}
		if h.MaxPayload > 0 && h.MaxPayload < defaultMaxPayload {
			s.maxPayload = int(h.MaxPayload)
		}
		return s.write(socketio.ConnectFrame)
	case socketio.EnginePing:
		return s.write(socketio.PongFrame)
	case socketio.EngineClose:
		return fmt.Errorf("%w: engine.io close", ErrDisconnected)
	case socketio.EngineMessage:
	default:
		return nil
	}
	switch p.Type {
	case socketio.Connect:
		// Log in before joining: a guest that joins first cannot evict its
		// own ghost from a dropped connection ("name already in use").
		return s.login()
	case socketio.ConnectError:
		msg := socketio.ConnectErrorMessage(p.Data)
		switch {
		case strings.Contains(msg, "Rate limit"):
			return fmt.Errorf("%w: %s", ErrRateLimited, msg)
		case strings.Contains(strings.ToLower(msg), "banned"):
			return fmt.Errorf("%w: %s", ErrBanned, msg)
		}
		return fmt.Errorf("%w: connection refused: %s", ErrDisconnected, msg)
	case socketio.Disconnect:
		return fmt.Errorf("%w: socket.io disconnect", ErrDisconnected)
	case socketio.Event:
		return s.event(&p)
	case socketio.Ack:
		c.answer(c.readOne(), "", p.Arg(0), p.ID)
	}
	return nil
}

func (s *session) login() error {
	type login struct {
		Name string `json:"name"`
		Pw   string `json:"pw,omitempty"`
	}
	return s.emit("login", login{Name: s.c.cfg.User, Pw: s.c.cfg.Password})
}

var guestDelay = regexp.MustCompile(`per ([0-9.]+) seconds`)

func (s *session) loginFailed(msg string) error {
	c := s.c
	switch {
	case strings.Contains(msg, "restricted to one per IP"):
		wait := c.cfg.GuestRetry
		if wait == 0 {
			wait = time.Minute
			if m := guestDelay.FindStringSubmatch(msg); m != nil {
				if sec, err := strconv.ParseFloat(m[1], 64); err == nil && sec >= 0 && sec < 86400 {
					wait = time.Duration(sec*float64(time.Second)) + 500*time.Millisecond
				}
			}
		}
		c.log.Info("guest login cooldown; waiting", "wait", wait, "server", msg)
		c.setState(protocol.StateConnecting, fmt.Sprintf("guest login cooldown, retrying in %s", wait.Round(time.Millisecond)))
		// The same socket may try again; a timer keeps the read loop free.
		s.retry = time.AfterFunc(wait, func() {
			if s.ctx.Err() == nil {
				_ = s.login()
			}
		})
		return nil
	case strings.Contains(msg, "is registered"):
		return fmt.Errorf("%w: %s", ErrRegisteredName, msg)
	case strings.Contains(msg, "already in use"):
		return fmt.Errorf("%w: %s", ErrNameTaken, msg)
	case strings.Contains(msg, "password combination"), strings.Contains(msg, "does not exist"):
		return fmt.Errorf("%w: %s", ErrBadPassword, msg)
	case strings.Contains(msg, "Invalid username"), strings.Contains(msg, "reserved"):
		return fmt.Errorf("%w: %s", ErrInvalidName, msg)
	}
	return fmt.Errorf("%w: %s", ErrLoginFailed, msg)
}

type userJSON struct {
	Name string       `json:"name"`
	Rank float64      `json:"rank"`
	Meta userMetaJSON `json:"meta"`
}

type chatJSON struct {
	Username string  `json:"username"`
	Msg      string  `json:"msg"`
	Time     float64 `json:"time"`
	To       string  `json:"to"`
}

// event handles one Socket.IO event, then shows it to the actions waiting
// for CyTube's answer.
func (s *session) event(p *socketio.Packet) error {
	seq := s.c.readOne()
	err := s.handleEvent(p)
	s.c.answer(seq, p.Name, p.Arg(0), p.ID)
	return err
}

// handleEvent handles one Socket.IO event. A payload of the wrong shape is
// logged and ignored: the server is not trusted to be well-formed.
func (s *session) handleEvent(p *socketio.Packet) error {
	c := s.c
	arg := p.Arg(0)
	decode := func(v any) bool {
		if arg == nil || json.Unmarshal(arg, v) != nil {
			c.malformed.Add(1)
			c.log.Debug("ignoring event with unexpected payload", "event", p.Name)
			return false
		}
		return true
	}
	switch p.Name {
	case "login":
		var r struct {
			Success bool   `json:"success"`
			Name    string `json:"name"`
			Error   string `json:"error"`
		}
		if !decode(&r) {
			return nil
		}
		if !r.Success {
			return s.loginFailed(r.Error)
		}
		c.mu.Lock()
		c.name = r.Name
		if c.name == "" {
			c.name = c.cfg.User
		}
		c.mu.Unlock()
		type join struct {
			Name string `json:"name"`
			Pw   string `json:"pw,omitempty"`
		}
		s.joinBy = time.Now().Add(c.cfg.HandshakeTimeout)
		c.mu.Lock() // the join burst says it all again
		c.st.poll, c.st.leader, c.st.playing = nil, "", false
		c.mu.Unlock()
		return s.emit("joinChannel", join{Name: c.cfg.Channel, Pw: c.cfg.ChannelPassword})
	case "rank":
		var r float64
		if decode(&r) {
			c.mu.Lock()
			c.rank = r
			c.setPaceLocked()
			if m, ok := c.users[strings.ToLower(c.name)]; ok && c.name != "" {
				m.rank = r // CyTube's setUserRank follows; the state must not lag it
				c.users[strings.ToLower(c.name)] = m
			}
			c.mu.Unlock()
			if !s.joinBy.IsZero() { // joinChannel was sent: the channel rank
				s.rankLoaded = true
				if s.waitRank {
					s.makeReady()
				}
			}
		}
	case "needPassword":
		var wrong bool
		_ = json.Unmarshal(arg, &wrong)
		if c.cfg.ChannelPassword == "" {
			return fmt.Errorf("%w: the channel needs a password (set channel_password or %s)", ErrChannelPassword, EnvChannelPassword)
		}
		if wrong {
			return fmt.Errorf("%w: the server refused the channel password", ErrChannelPassword)
		}
		return s.emit("channelPassword", c.cfg.ChannelPassword)
	case "kick":
		var k struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(arg, &k)
		c.serverMessage("kick", arg)
		switch r := k.Reason; {
		case strings.Contains(r, "Duplicate login"):
			return fmt.Errorf("%w (%s)", ErrDuplicateLogin, r)
		case strings.Contains(strings.ToLower(r), "banned"):
			return fmt.Errorf("%w: %s", ErrBanned, r)
		case strings.Contains(r, "Invalid channel name"):
			return fmt.Errorf("%w: %s", ErrNoSuchChannel, r)
		case r == "":
			return fmt.Errorf("%w (no reason given)", ErrKicked)
		default:
			return fmt.Errorf("%w: %s", ErrKicked, r)
		}
	case "userlist":
		var list []userJSON
		if !decode(&list) {
			return nil
		}
		s.c.replaceUsers(list)
		if !s.joined {
			s.joined = true // everything before this was the history replay
			c.judgeLost(s.replayed)
			c.gen++
			if c.cfg.Password != "" && !s.rankLoaded {
				s.waitRank, s.readyBy = true, time.Now().Add(c.cfg.HandshakeTimeout)
			} else {
				s.makeReady()
			}
		}
	case "addUser":
		var u userJSON
		if decode(&u) {
			c.addUser(u)
		}
	case "userLeave":
		var u userJSON
		if decode(&u) {
			c.removeUser(u.Name)
		}
	case "setUserRank":
		var u userJSON
		if decode(&u) {
			c.mu.Lock()
			m, ok := c.users[strings.ToLower(u.Name)]
			if ok {
				m.rank = u.Rank
				c.users[strings.ToLower(u.Name)] = m
			}
			c.mu.Unlock()
			if ok {
				c.publish(protocol.UserRank, protocol.UserRankEvent{Channel: c.cfg.Channel, User: m.name, Rank: u.Rank})
			}
		}
	case "chatMsg":
		var m chatJSON
		if !s.joined { // replayed history
			if json.Unmarshal(arg, &m) == nil && c.isSelf(m.Username) {
				s.replayed = append(s.replayed, m.Time)
			}
			return nil
		}
		if decode(&m) {
			if c.isSelf(m.Username) {
				c.settled("chatMsg")
				c.mark.saw(m.Time)
			}
			if m.Username == "[server]" {
				c.publish(protocol.ModerationNotice, protocol.ServerMessage{Channel: c.cfg.Channel, Message: PlainText(m.Msg)})
			}
			s.chat(protocol.Chat, m)
		}
	case "pm":
		var m chatJSON
		if decode(&m) {
			if c.isSelf(m.Username) {
				c.settled("pm")
			}
			s.chat(protocol.PM, m)
		}
	case "channelOpts":
		var o channelOptsJSON
		if decode(&o) {
			c.mu.Lock()
			c.st.options = append(json.RawMessage(nil), arg...)
			if o.AntiFlood != nil {
				c.antiFlood = *o.AntiFlood
			}
			c.floodParams = o.rule(c.floodParams)
			r := c.ruleLocked("chatMsg")
			c.mu.Unlock()
			c.log.Debug("channel options", "antiflood", c.antiFlood, "burst", r.Burst, "sustained", r.Sustained)
			c.publish(protocol.ChannelOptions, protocol.ChannelOptionsEvent{Channel: c.cfg.Channel, Options: arg})
		}
	case "changeMedia":
		var m struct {
			ID          string  `json:"id"`
			Title       string  `json:"title"`
			Seconds     float64 `json:"seconds"`
			Type        string  `json:"type"`
			CurrentTime float64 `json:"currentTime"`
			Paused      bool    `json:"paused"`
		}
		if decode(&m) {
			ev := protocol.MediaChangeEvent{Title: m.Title, URL: MediaURL(m.Type, m.ID), Duration: m.Seconds, Type: m.Type, ID: m.ID, Channel: c.cfg.Channel, Time: m.CurrentTime}
			c.publish(protocol.MediaChange, ev)
			c.position(m.CurrentTime, m.Paused, true)
		}
	case "cooldown":
		var ms float64
		if decode(&ms) {
			d := time.Duration(ms * float64(time.Millisecond))
			if d <= 0 || d > time.Minute {
				d = time.Second
			}
			select {
			case c.cooldown <- cooldownEv{d: d, at: time.Now(), line: c.settled("")}:
			default:
			}
		}
	case "errorMsg", "noflood", "spamFiltered", "channelRankFail":
		var m struct {
			Msg    string `json:"msg"`
			Action string `json:"action"`
		}
		_ = json.Unmarshal(arg, &m)
		switch {
		case p.Name == "errorMsg" && (strings.HasPrefix(m.Msg, "PM failed") || strings.HasPrefix(m.Msg, "You can't PM")):
			c.settled("pm")
			c.refused.Add(1)
		case p.Name == "noflood" && m.Action == "chat", p.Name == "spamFiltered":
			c.settled("chatMsg")
			c.refused.Add(1)
		}
		c.log.Warn("server message", "event", p.Name, "payload", string(arg))
		c.serverMessage(p.Name, arg)
	default:
		s.channelEvent(p.Name, arg)
	}
	return nil
}

// chat publishes a chat line or PM, skipping the bot's own, pseudo-users
// such as [server], and exact repeats.
func (s *session) chat(subject string, m chatJSON) {
	c := s.c
	c.mu.Lock()
	self := c.name
	rank := float64(protocol.RankGuest)
	if u, ok := c.users[strings.ToLower(m.Username)]; ok {
		rank = u.rank
	}
	c.mu.Unlock()
	if m.Username == "" || protocol.SameUser(m.Username, self) || strings.HasPrefix(m.Username, "[") {
		return
	}
	// A line published in an earlier session and received again is a
	// replay (the userlist rule should have caught it); identical lines in
	// one session are live, however close together they were said.
	if !c.seen.add(m.Username+"\x00"+strconv.FormatFloat(m.Time, 'f', 0, 64)+"\x00"+subject+m.Msg, c.gen) {
		return
	}
	c.in.Add(1)
	c.publish(subject, protocol.ChatMessage{User: m.Username, Message: PlainText(m.Msg), Channel: c.cfg.Channel, Rank: rank, Time: int64(m.Time)})
}

func (c *Connector) isSelf(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return name != "" && protocol.SameUser(name, c.name)
}

func (c *Connector) publish(subject string, v any) {
	if err := c.bus.Publish(context.Background(), subject, v); err != nil {
		c.log.Warn("publish", "subject", subject, "err", err)
	}
}

// replaceUsers installs a full user list. The first list after Start emits
// nothing (no greeting everyone at startup); later ones, after reconnects,
// emit the differences.
func (c *Connector) replaceUsers(list []userJSON) {
	next := make(map[string]member, len(list))
	for _, u := range list {
		if u.Name != "" {
			next[strings.ToLower(u.Name)] = member{name: u.Name, rank: u.Rank, afk: u.Meta.AFK, muted: u.Meta.Muted || u.Meta.SMuted, smuted: u.Meta.SMuted}
		}
	}
	c.mu.Lock()
	prev, listed, self := c.users, c.listed, c.name
	c.users, c.listed = next, true
	c.mu.Unlock()
	if !listed {
		return
	}
	for k, u := range next {
		if _, ok := prev[k]; !ok && !protocol.SameUser(u.name, self) {
			c.publish(protocol.UserJoin, protocol.UserJoinEvent{User: u.name, Channel: c.cfg.Channel, Rank: u.rank})
		}
	}
	for k, u := range prev {
		if _, ok := next[k]; !ok && !protocol.SameUser(u.name, self) {
			c.publish(protocol.UserLeave, protocol.UserLeaveEvent{User: u.name, Channel: c.cfg.Channel})
		}
	}
}

func (c *Connector) addUser(u userJSON) {
	if u.Name == "" {
		return
	}
	k := strings.ToLower(u.Name)
	c.mu.Lock()
	_, had := c.users[k]
	c.users[k] = member{name: u.Name, rank: u.Rank, afk: u.Meta.AFK, muted: u.Meta.Muted || u.Meta.SMuted, smuted: u.Meta.SMuted}
	self := c.name
	c.mu.Unlock()
	if !had && !protocol.SameUser(u.Name, self) {
		c.publish(protocol.UserJoin, protocol.UserJoinEvent{User: u.Name, Channel: c.cfg.Channel, Rank: u.Rank})
	}
}

func (c *Connector) removeUser(name string) {
	k := strings.ToLower(name)
	c.mu.Lock()
	u, had := c.users[k]
	delete(c.users, k)
	self := c.name
	c.mu.Unlock()
	if had && !protocol.SameUser(name, self) {
		c.publish(protocol.UserLeave, protocol.UserLeaveEvent{User: u.name, Channel: c.cfg.Channel})
	}
}

// dedup remembers the keys of the last lines published, with the session
// (generation) each came in.
type dedup struct {
	keys [64]string
	set  map[string]int
	next int
}

// add reports whether key may be published in session gen: it may unless
// an earlier session published it. It remembers key.
func (d *dedup) add(key string, gen int) bool {
	if d.set == nil {
		d.set = make(map[string]int, len(d.keys))
	}
	if g, ok := d.set[key]; ok {
		return g == gen
	}
	if old := d.keys[d.next]; old != "" {
		delete(d.set, old)
	}
	d.keys[d.next] = key
	d.set[key] = gen
	d.next = (d.next + 1) % len(d.keys)
	return true
}
