package cytubetest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/internal/socketio"
)

var userName = regexp.MustCompile(`^[\w-]{1,20}$`)

// conn is one client websocket. Every field below the write queue is
// guarded by the server's mutex. Frames are queued under that mutex and
// written after it is released: by the goroutine that read the frame
// causing them (no hand-off on the path a chat line takes), or else by the
// connection's writer goroutine.
type conn struct {
	s  *Server
	ws *websocket.Conn
	ip string
	id string

	wmu   sync.Mutex // held while writing to ws, so frames leave in queue order
	qmu   sync.Mutex
	queue [][]byte      // waiting frames; nil means "close after the ones before"
	wake  chan struct{} // tells the writer goroutine there is work

	pong    chan struct{}
	done    chan struct{}
	once    sync.Once
	refusal string // connect error to send on "40"

	sioConnected bool
	disconnected bool // after "41": socket.io events are ignored
	joinTried    bool
	pendingCh    *channel // waiting for a channel password
	ch           *channel
	loggedIn     bool
	guest        bool
	name         string
	rank         float64
	flood        floodLimiter
	queueLimit   floodLimiter
}

func newConn(s *Server, ws *websocket.Conn, ip, id string) *conn {
	ws.SetReadLimit(1 << 20) // CyTube's maxHttpBufferSize
	return &conn{
		s: s, ws: ws, ip: ip, id: id, rank: -1,
		wake: make(chan struct{}, 1),
		pong: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// sendFrame queues a frame; the caller holds the server mutex. A client
// too slow to drain 4096 frames is dropped.
func (c *conn) sendFrame(f []byte) {
	s := c.s
	if s.silent {
		return
	}
	c.qmu.Lock()
	full := len(c.queue) >= 4096
	if !full {
		c.queue = append(c.queue, f)
	}
	c.qmu.Unlock()
	if full {
		c.close()
		return
	}
	if s.batch != nil { // a read loop handling a frame writes when it unlocks
		*s.batch = append(*s.batch, c)
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// flush writes the queued frames in order and reports whether the
// connection is still open.
func (c *conn) flush() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		c.qmu.Lock()
		q := c.queue
		c.queue = nil
		c.qmu.Unlock()
		if len(q) == 0 {
			return true
		}
		for _, f := range q {
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if f == nil { // close after what was queued before
				_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				c.close()
				return false
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, f); err != nil {
				c.close()
				return false
			}
		}
	}
}

func (c *conn) emit(event string, arg any) {
	var f []byte
	if arg == nil {
		f, _ = socketio.EncodeEvent(event)
	} else {
		f, _ = socketio.EncodeEvent(event, arg)
	}
	c.sendFrame(f)
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case <-c.wake:
			if !c.flush() {
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *conn) pingLoop() {
	defer c.s.wg.Done()
	s := c.s
	t := time.NewTimer(s.cfg.PingInterval)
	defer t.Stop()
	s.mu.Lock()
	maxPayload := s.maxPayload
	if maxPayload == 0 {
		maxPayload = 1 << 20
	}
	open, _ := socketio.EncodeOpen(socketio.Handshake{
		SID: c.id, Upgrades: []string{},
		PingInterval: s.cfg.PingInterval.Milliseconds(), PingTimeout: s.cfg.PingTimeout.Milliseconds(),
		MaxPayload: int64(maxPayload),
	})
	c.sendFrame(open)
	s.mu.Unlock()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		select {
		case <-c.pong:
		default:
		}
		s.mu.Lock()
		silent := s.silent
		c.sendFrame(socketio.PingFrame)
		s.mu.Unlock()
		if !silent {
			wait := time.NewTimer(s.cfg.PingTimeout)
			select {
			case <-c.done:
				wait.Stop()
				return
			case <-c.pong:
				wait.Stop()
			case <-wait.C:
				s.log.Debug("ping timeout", "conn", c.id)
				c.close()
				return
			}
		}
		t.Reset(s.cfg.PingInterval)
	}
}

func (c *conn) readLoop() {
	s := c.s
	defer s.wg.Done()
	for {
		s.mu.Lock()
		gate := s.readGate
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-c.done:
			}
		}
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		var touched []*conn
		s.mu.Lock()
		if !s.silent {
			s.batch = &touched
			c.handle(data)
			s.batch = nil
		}
		s.mu.Unlock()
		// Write what the frame caused, to the others first: the sender's
		// own echo is the least urgent.
		for _, o := range touched {
			if o != c {
				o.flush()
			}
		}
		for _, o := range touched {
			if o == c {
				c.flush()
				break
			}
		}
	}
	c.close()
	s.mu.Lock()
	delete(s.conns, c)
	if c.ch != nil {
		if u := c.ch.user(c.name); u != nil && u.conn == c {
			c.ch.removeUser(u)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// handle processes one frame with the server mutex held.
func (c *conn) handle(data []byte) {
	s := c.s
	p, err := socketio.Parse(data)
	if err != nil {
		s.log.Debug("parse error, closing", "conn", c.id, "err", err)
		c.close()
		return
	}
	switch p.Engine {
	case socketio.EnginePing:
		s.log.Debug("invalid heartbeat direction, closing", "conn", c.id)
		c.close()
		return
	case socketio.EnginePong:
		select {
		case c.pong <- struct{}{}:
		default:
		}
		return
	case socketio.EngineClose:
		c.close()
		return
	case socketio.EngineMessage:
	default:
		return
	}
	switch p.Type {
	case socketio.Connect:
		if c.sioConnected {
			return
		}
		if c.refusal != "" {
			c.sendFrame(socketio.EncodeConnectError(c.refusal))
			c.sendFrame(nil)
			return
		}
		c.sioConnected = true
		c.sendFrame(socketio.EncodeConnect(c.id))
		c.emit("rank", -1)
		if s.cfg.MaxConnectionsPerIP > 0 {
			n := 0
			for o := range s.conns {
				if o.ip == c.ip && o.sioConnected {
					n++
				}
			}
			if n > s.cfg.MaxConnectionsPerIP {
				c.emit("kick", map[string]any{"reason": "Too many connections from your IP address"})
				c.sendFrame(nil)
			}
		}
	case socketio.Disconnect:
		c.disconnected = true
		c.leave()
	case socketio.Event:
		if !c.sioConnected || c.disconnected {
			return
		}
		f := Frame{Conn: c.id, Event: p.Name, Data: p.Arg(0)}
		if c.loggedIn {
			f.User = c.name
		}
		s.frames = append(s.frames, f)
		s.notifyLocked()
		if s.held[p.Name] {
			s.heldFrames = append(s.heldFrames, heldFrame{c: c, p: p})
			return
		}
		c.process(p)
		s.afterProcessLocked(c, p)
	}
}

// process handles an event a client sent (after Hold, when released).
func (c *conn) process(p socketio.Packet) {
	if p.Name == "newPoll" { // the one event CyTube acks
		var obj map[string]any
		_ = json.Unmarshal(p.Arg(0), &obj)
		if res := c.newPoll(obj); res != nil && p.ID >= 0 {
			ack, _ := socketio.EncodeAck(p.ID, res)
			c.sendFrame(ack)
		}
		return
	}
	if p.ID >= 0 {
		ack, _ := socketio.EncodeAck(p.ID, map[string]any{})
		c.sendFrame(ack)
	}
	c.dispatch(p.Name, p.Arg(0))
}

func (c *conn) leave() {
	if c.ch == nil {
		return
	}
	if u := c.ch.user(c.name); u != nil && u.conn == c {
		c.ch.removeUser(u)
	}
	c.ch = nil
}

func (c *conn) typeError(event, key string, v any) {
	c.emit("errorMsg", map[string]any{"msg": fmt.Sprintf(
		"Unexpected error for message %s: Expected key %s to be of type string, instead got %s", event, key, jsType(v))})
}

func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "undefined"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case string:
		return "string"
	}
	return "object"
}

func (c *conn) dispatch(event string, arg json.RawMessage) {
	var obj map[string]any
	_ = json.Unmarshal(arg, &obj)
	str := func(key string) (string, bool) {
		v, ok := obj[key].(string)
		return v, ok
	}
	switch event {
	case "joinChannel":
		if c.s.stallJoins { // dispatch runs under the server's lock
			return
		}
		name, ok := str("name")
		if !ok {
			c.typeError(event, "name", obj["name"])
			return
		}
		pw, hasPw := str("pw")
		c.join(name, pw, hasPw)
	case "channelPassword":
		var pw string
		if json.Unmarshal(arg, &pw) != nil || c.pendingCh == nil || c.ch != nil {
			return
		}
		if pw != c.pendingCh.cfg.Password {
			c.emit("needPassword", true)
			return
		}
		c.emit("cancelNeedPassword", nil)
		c.accept(c.pendingCh)
	case "login":
		name, ok := str("name")
		if !ok {
			c.typeError(event, "name", obj["name"])
			return
		}
		pw, _ := str("pw")
		c.login(name, pw)
	case "chatMsg":
		msg, ok := str("msg")
		if !ok {
			c.typeError(event, "msg", obj["msg"])
			return
		}
		c.chat(msg)
	case "pm":
		to, ok1 := str("to")
		msg, ok2 := str("msg")
		if !ok1 || !ok2 {
			c.typeError(event, "msg", obj["msg"])
			return
		}
		c.pm(to, msg)
	case "queue":
		c.queueMedia(obj)
	case "delete", "jumpTo", "playNext", "moveMedia", "setTemp", "clearPlaylist", "shufflePlaylist", "voteskip",
		"vote", "closePoll", "assignLeader", "setMotd", "setOptions", "setPermissions", "setChannelRank":
		c.playlistEvent(event, arg, obj)
	}
}

func (c *conn) join(name, pw string, hasPw bool) {
	s := c.s
	if c.joinTried {
		return // only the first joinChannel counts
	}
	c.joinTried = true
	ch := s.channelLocked(name, false)
	if !channelName.MatchString(name) || (s.cfg.StrictChannels && (ch == nil || !ch.known)) {
		c.emit("errorMsg", map[string]any{"msg": "Invalid channel name"})
		s.kickLocked(c, "Invalid channel name")
		return
	}
	ch = s.channelLocked(name, true)
	if c.loggedIn && ch.bans[strings.ToLower(c.name)] {
		s.kickLocked(c, "You are banned from this channel.")
		return
	}
	if ch.cfg.Password != "" && (!hasPw || pw != ch.cfg.Password) {
		if c.loggedIn && c.effectiveRank(ch) >= 2 {
			c.emit("cancelNeedPassword", nil)
			c.accept(ch)
			return
		}
		c.pendingCh = ch
		c.emit("needPassword", hasPw)
		return
	}
	c.accept(ch)
}

func (c *conn) effectiveRank(ch *channel) float64 {
	r := c.rank
	if c.loggedIn && !c.guest && ch != nil {
		if cr, ok := ch.cfg.Ranks[c.name]; ok && cr > r {
			r = cr
		}
	}
	return r
}

// accept sends the join burst in CyTube's order: history before userlist.
func (c *conn) accept(ch *channel) {
	s := c.s
	c.pendingCh = nil
	c.ch = ch
	c.emit("setPermissions", ch.perms())
	c.emit("setPlaylistLocked", ch.locked())
	emotes := []any{}
	for _, e := range ch.cfg.Emotes {
		emotes = append(emotes, map[string]any{"name": e, "image": "https://example.com/" + e + ".png", "source": e})
	}
	c.emit("emoteList", emotes)
	for _, m := range ch.history {
		c.emit("chatMsg", map[string]any{"username": m.From, "msg": m.HTML, "meta": m.Meta, "time": m.Time})
	}
	c.emit("drinkCount", 0)
	c.emit("channelCSSJS", map[string]any{"css": "", "cssHash": "", "js": "", "jsHash": ""})
	c.emit("setMotd", ch.motd)
	c.emit("channelOpts", ch.optsPayload())
	c.emit("setPlaylistMeta", ch.metaPayload())
	c.emit("playlist", ch.playlistPayload())
	if ch.current != nil {
		c.emit("setCurrent", ch.current.uid)
		c.emit("changeMedia", mediaPayload(ch.current.media))
	}
	if ch.poll != nil {
		c.emit("newPoll", ch.pollFrame(ch.poll, ch.can(c.rank, "viewhiddenpoll")))
	}
	if c.loggedIn {
		c.enter()
	}
	users := make([]any, 0, len(ch.users))
	for _, u := range ch.users {
		users = append(users, userPayload(u))
	}
	c.emit("userlist", users)
	if ch.leader != "" {
		c.emit("setLeader", ch.leader)
	}
	c.emit("usercount", len(users))
	if !ch.cfg.Registered {
		c.emit("channelNotRegistered", nil)
	}
	if c.loggedIn {
		c.loadChannelRank()
	}
	s.notifyLocked()
}

// loadChannelRank gives a registered user its channel rank as CyTube does:
// read from the database once the user is logged in and in the channel,
// so it comes after the join burst (after ChannelRankDelay), as rank to the
// user and setUserRank to the channel, whether it changed or not. Guests
// have none.
func (c *conn) loadChannelRank() {
	s, ch := c.s, c.ch
	if c.guest || !c.loggedIn || ch == nil {
		return
	}
	apply := func() {
		r := c.effectiveRank(ch)
		c.rank = r
		if u := ch.user(c.name); u != nil && u.conn == c {
			u.rank = r
		}
		c.emit("rank", r)
		ch.emitAll("setUserRank", map[string]any{"name": c.name, "rank": r})
	}
	if s.cfg.ChannelRankDelay <= 0 {
		apply()
		return
	}
	time.AfterFunc(s.cfg.ChannelRankDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-c.done:
			return
		default:
		}
		if c.ch == ch && !c.disconnected {
			apply()
			s.notifyLocked()
		}
	})
}

// enter adds a logged-in connection to its channel's users, evicting an
// older session of the same name.
func (c *conn) enter() {
	s, ch := c.s, c.ch
	if ch.bans[strings.ToLower(c.name)] {
		s.kickLocked(c, "You are banned from this channel.")
		return
	}
	for _, o := range ch.connsNamed(c.name) {
		if o != c {
			s.kickLocked(o, "Duplicate login")
		}
	}
	if u := ch.user(c.name); u != nil {
		ch.removeUser(u) // a virtual user of the same name
	}
	// With its global rank for now: the channel rank comes later (see
	// loadChannelRank).
	ch.addUser(&member{name: c.name, rank: c.rank, conn: c})
}

func (c *conn) login(name, pw string) {
	s := c.s
	if c.loggedIn {
		return
	}
	fail := func(msg string) { c.emit("login", map[string]any{"success": false, "error": msg}) }
	if !userName.MatchString(name) {
		fail("Invalid username.  Usernames must be 1-20 characters long and consist only of characters a-z, A-Z, 0-9, -, or _.")
		return
	}
	acct, registered := s.accounts[strings.ToLower(name)]
	if pw == "" {
		switch {
		case registered:
			fail("That username is registered.")
			return
		case c.ch != nil && c.ch.user(name) != nil:
			fail("That name is already in use on this channel.")
			return
		}
		if d := s.cfg.GuestLoginDelay; d > 0 {
			if at, ok := s.guestAt[c.ip]; ok && time.Since(at) < d {
				fail("Guest logins are restricted to one per IP address per " +
					strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " seconds.")
				return
			}
		}
		s.guestAt[c.ip] = time.Now()
		c.guest, c.rank = true, 0
	} else {
		switch {
		case !registered:
			fail("User does not exist")
			return
		case acct.password != truncate(pw, 100):
			fail("Invalid username/password combination")
			return
		}
		name = acct.name
		c.rank = math.Max(acct.rank, 1)
	}
	c.loggedIn, c.name = true, name
	s.stats.Logins++
	c.emit("rank", c.rank)
	res := map[string]any{"success": true, "name": name}
	if c.guest {
		res["guest"] = true
	}
	c.emit("login", res)
	if c.ch != nil {
		c.enter()
		c.loadChannelRank()
	}
	s.notifyLocked()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (c *conn) chat(msg string) {
	s, ch := c.s, c.ch
	// CyTube's handleChatMsg: a user who may not chat is ignored, its
	// commands (/kick, /clear, …) too.
	if !c.loggedIn || ch == nil || !ch.can(c.rank, "chat") {
		return
	}
	burst, sustained := s.cfg.ChatBurst, s.cfg.ChatSustained
	if ch.cfg.AntiFlood && c.rank < 2 {
		burst, sustained = ch.cfg.AntiFloodBurst, ch.cfg.AntiFloodSustained
	}
	if !c.flood.allow(time.Now(), burst, sustained) {
		s.stats.Cooldowns++
		c.emit("cooldown", 1000/sustained)
		s.notifyLocked()
		return
	}
	if strings.HasPrefix(msg, "/") && c.command(msg) {
		return
	}
	if ch.cfg.NewUserChatDelay && c.guest && c.rank < 2 {
		c.emit("spamFiltered", map[string]any{"reason": "NEW_USER_CHAT"})
		return
	}
	if u := ch.user(c.name); u != nil && u.muted {
		if u.smuted { // seen only by the sender and moderators (shadow in meta)
			text, meta, ok := s.prepare(msg)
			if !ok {
				return
			}
			payload := map[string]any{"username": c.name, "msg": render(text, ch.cfg.Registered), "meta": meta, "time": s.now().UnixMilli()}
			c.emit("chatMsg", payload)
			shadowMeta := map[string]any{"shadow": true}
			for k, v := range meta {
				shadowMeta[k] = v
			}
			for o := range s.conns {
				if o != c && o.ch == ch && o.rank >= 2 {
					o.emit("chatMsg", map[string]any{"username": c.name, "msg": payload["msg"], "meta": shadowMeta, "time": payload["time"]})
				}
			}
			return
		}
		c.emit("noflood", map[string]any{"action": "chat", "msg": "You have been muted on this channel."})
		return
	}
	text, meta, ok := s.prepare(msg)
	if !ok {
		return
	}
	s.broadcastChatLocked(ch, c.name, text, meta)
}

func (c *conn) pm(to, msg string) {
	s, ch := c.s, c.ch
	if !c.loggedIn {
		c.emit("errorMsg", map[string]any{"msg": "You must be signed in to send PMs"})
		return
	}
	if strings.EqualFold(to, c.name) {
		c.emit("errorMsg", map[string]any{"msg": "You can't PM yourself!"})
		return
	}
	var target *member
	if ch != nil {
		target = ch.user(to)
	}
	if target == nil {
		c.emit("errorMsg", map[string]any{"msg": "PM failed: " + to + " isn't connected to this channel."})
		return
	}
	if !c.flood.allow(time.Now(), 20, 10) {
		s.stats.Cooldowns++
		c.emit("cooldown", 100)
		s.notifyLocked()
		return
	}
	text, meta, ok := s.prepare(msg)
	if !ok {
		return
	}
	from := ch.user(c.name)
	if from == nil || from.conn != c {
		from = &member{name: c.name, rank: c.rank, conn: c}
	}
	s.deliverPMLocked(ch, from, target, text, meta)
}
