package cytubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/internal/socketio"
)

// Config sets the server's rules. The zero value behaves like a default
// CyTube 3.86 install; tests usually shorten the timings (see Fast).
type Config struct {
	// PingInterval is how often the server pings (CyTube: 25s).
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong (CyTube: 120s).
	PingTimeout time.Duration
	// ConnectBurst and ConnectInterval are the per-IP connection limit:
	// ConnectBurst attempts at once, then one more per ConnectInterval
	// (CyTube: 5 and 10s). A negative ConnectBurst disables the limit.
	ConnectBurst    int
	ConnectInterval time.Duration
	// MaxConnectionsPerIP bounds concurrent sockets per IP (CyTube: 10).
	// Negative disables it.
	MaxConnectionsPerIP int
	// GuestLoginDelay is the time between two guest logins from one IP
	// (CyTube: 60s). Negative disables it.
	GuestLoginDelay time.Duration
	// MaxChatLength is where chat and PMs are cut, in UTF-16 code units
	// as JavaScript counts them (CyTube: 320).
	MaxChatLength int
	// HistoryLength is how many chat lines are kept and replayed on join
	// (CyTube: 15).
	HistoryLength int
	// ChatBurst and ChatSustained are the default chat flood limits
	// (CyTube: burst 20, then 10 per second).
	ChatBurst     int
	ChatSustained float64
	// StrictChannels makes every channel not added with AddChannel unknown
	// (socketconfig answers 404), to exercise a "no such channel" error.
	// Real CyTube accepts any valid name as an unregistered channel.
	StrictChannels bool
	// ChannelRankDelay is how long the server's database takes to give a
	// registered user its channel rank once it is logged in and in the
	// channel (CyTube reads it after the join burst: the rank and
	// setUserRank always come after the userlist). Zero sends them right
	// after the join burst.
	ChannelRankDelay time.Duration
	// Clock, when set, gives the time stamped on chat lines and PMs (a
	// fixed clock makes lines said together share their millisecond, as
	// they often do on a real server). Nil uses time.Now.
	Clock func() time.Time
	// Logger receives the server's debug log; nil is silent.
	Logger *slog.Logger
}

// Fast returns a Config with CyTube's rules but timings shortened for
// tests: pings every 200ms, a 1s ping timeout, no guest login delay, and a
// per-IP connect limit of 5 then one per 50ms.
func Fast() Config {
	return Config{
		PingInterval:    200 * time.Millisecond,
		PingTimeout:     time.Second,
		ConnectInterval: 50 * time.Millisecond,
		GuestLoginDelay: -1,
	}
}

func (c *Config) defaults() {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 120 * time.Second
	}
	if c.ConnectBurst == 0 {
		c.ConnectBurst = 5
	}
	if c.ConnectInterval <= 0 {
		c.ConnectInterval = 10 * time.Second
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = 10
	}
	if c.GuestLoginDelay == 0 {
		c.GuestLoginDelay = 60 * time.Second
	}
	if c.MaxChatLength <= 0 {
		c.MaxChatLength = 320
	}
	if c.HistoryLength <= 0 {
		c.HistoryLength = 15
	}
	if c.ChatBurst <= 0 {
		c.ChatBurst = 20
	}
	if c.ChatSustained <= 0 {
		c.ChatSustained = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ChannelConfig describes a channel added with AddChannel.
type ChannelConfig struct {
	// Password, when set, must be given to join.
	Password string
	// Registered channels apply CyTube's default markup filters (*x* is
	// <strong>, _x_ is <em>, …) and do not send channelNotRegistered.
	Registered bool
	// AntiFlood applies AntiFloodBurst/AntiFloodSustained (default 4 and 1
	// per second) to senders below rank 2, like chat_antiflood; the
	// channelOpts event tells clients both (chat_antiflood_params, with
	// cooldown burst/sustained as CyTube computes it).
	AntiFlood          bool
	AntiFloodBurst     int
	AntiFloodSustained float64
	// HideAntiFlood makes channelOpts say antiflood is off while the
	// server applies it: rules a client cannot see, to test how it copes
	// with cooldowns. CyTube itself always tells.
	HideAntiFlood bool
	// Ranks gives users a channel rank (effective rank is the maximum of
	// this and the account's global rank).
	Ranks map[string]float64
	// Permissions overrides entries of CyTube's default permissions table
	// (registered or unregistered defaults, see CyTube's permissions.js):
	// the minimum rank for each action, sent to clients as setPermissions.
	Permissions map[string]float64
	// AllowDupes lets the same media be queued twice (allow_dupes).
	AllowDupes bool
	// VoteskipOff turns allow_voteskip off; VoteskipRatio is
	// voteskip_ratio (default 0.5).
	VoteskipOff   bool
	VoteskipRatio float64
	// MOTD is the channel's message of the day (HTML).
	MOTD string
	// NewUserChatDelay makes guests below rank 2 "new users" who may not
	// chat (new_user_chat_delay): their lines get spamFiltered
	// {reason: "NEW_USER_CHAT"} and go nowhere. A guest has no account
	// age, so CyTube treats it as new on every connection.
	NewUserChatDelay bool
	// Emotes are the channel's emote names (images are made up).
	Emotes []string
}

// Media is a playlist item for ChangeMedia.
type Media struct {
	Type    string
	ID      string
	Title   string
	Seconds float64
}

// Message is one chat line or PM as the server delivered it.
type Message struct {
	Channel string
	From    string
	// To is the recipient of a PM, empty for channel chat.
	To string
	// HTML is the text as CyTube sends it: escaped, filtered, links made.
	HTML string
	Meta map[string]any
	Time int64
}

// Frame is one Socket.IO event a client sent.
type Frame struct {
	// Conn identifies the connection (its Engine.IO sid).
	Conn string
	// User is the name the connection was logged in as, if any.
	User  string
	Event string
	// Data is the first argument, raw JSON (nil when there is none).
	Data json.RawMessage
}

// User is a user present in a channel.
type User struct {
	Name string
	Rank float64
	// Virtual users exist only inside the server (see Say and Join).
	Virtual bool
	AFK     bool
	Muted   bool
	// Shadow is true for a shadow mute.
	Shadow bool
}

// Stats counts what the server has seen.
type Stats struct {
	// ConnectAttempts counts websocket connections opened.
	ConnectAttempts int
	// RateLimited counts connections refused by the per-IP connect limit.
	RateLimited int
	// Open is the number of websockets currently open.
	Open int
	// Cooldowns counts chat messages dropped by flood control.
	Cooldowns int
	// Kicks counts kicks sent.
	Kicks int
	// Logins counts successful logins.
	Logins int
}

// Server is a fake CyTube server on a loopback port. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567. Give it to the
	// connector as its server; discovery points back at it.
	URL string

	cfg  Config
	log  *slog.Logger
	http *httptest.Server
	up   websocket.Upgrader

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever something is recorded
	accounts map[string]account
	channels map[string]*channel
	conns    map[*conn]struct{}
	buckets  map[string]*bucket
	guestAt  map[string]time.Time
	// batch, while a read loop handles a frame, collects the connections
	// it queued frames for; that loop writes them once it unlocks.
	batch      *[]*conn
	serverBans map[string]bool
	media      map[string]Media   // known media by "type:id", see AddMedia
	ytLists    map[string][]Media // known YouTube playlists, see AddYouTubePlaylist
	failDisc   int
	silent     bool
	stallJoins bool
	maxPayload int             // advertised in the handshake of new connections; 0: 1 MiB
	readGate   chan struct{}   // while not nil, connections read nothing until it is closed
	held       map[string]bool // events whose processing waits for Release
	dropAfter  map[string]int  // events after which the sender's connection is dropped, see DropAfter
	heldFrames []heldFrame
	messages   []Message
	watchers   map[chan Message]struct{}
	frames     []Frame
	stats      Stats
	nextID     int
	wg         sync.WaitGroup
	closed     bool
}

type account struct {
	name     string
	password string
	rank     float64
}

type bucket struct {
	tokens float64
	at     time.Time
}

var channelName = regexp.MustCompile(`^[\w-]{1,30}$`)

// NewServer starts a fake CyTube server. Close it when done.
func NewServer(cfg Config) *Server {
	cfg.defaults()
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		changed:    make(chan struct{}),
		accounts:   map[string]account{},
		channels:   map[string]*channel{},
		conns:      map[*conn]struct{}{},
		buckets:    map[string]*bucket{},
		guestAt:    map[string]time.Time{},
		serverBans: map[string]bool{},
		media:      map[string]Media{},
		up:         websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /socketconfig/{file}", s.serveSocketConfig)
	mux.HandleFunc("/socket.io/", s.serveSocket)
	s.http = httptest.NewServer(mux)
	s.URL = s.http.URL
	return s
}

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.http.Close()
	s.wg.Wait()
}

// AddAccount registers a user account with a global rank (1 for a plain
// registered user).
func (s *Server) AddAccount(name, password string, globalRank float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[strings.ToLower(name)] = account{name: name, password: password, rank: globalRank}
}

// AddChannel creates or reconfigures a channel.
func (s *Server) AddChannel(name string, cc ChannelConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(name, true)
	ch.cfg = cc
	ch.known = true
	ch.applyDefaults()
	ch.permTable = nil
	ch.motd = cc.MOTD
}

// UpdateChannel changes a channel's configuration as a channel admin
// would: everyone in the channel is sent the new channelOpts.
func (s *Server) UpdateChannel(name string, edit func(*ChannelConfig)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(name, true)
	edit(&ch.cfg)
	ch.applyDefaults()
	ch.permTable = nil
	ch.emitAll("channelOpts", ch.optsPayload())
	ch.emitAll("setPermissions", ch.perms())
}

func (s *Server) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// BanFromServer makes every new connection from ip fail with CyTube's
// "You are banned from the server" connect error ("" means 127.0.0.1).
func (s *Server) BanFromServer(ip string) {
	if ip == "" {
		ip = "127.0.0.1"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverBans[ip] = true
}

// Ban name-bans a user from a channel: a present user is kicked with
// "You're banned!", later joins with "You are banned from this channel.".
func (s *Server) Ban(channelName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	ch.bans[strings.ToLower(name)] = true
	for _, c := range ch.connsNamed(name) {
		s.kickLocked(c, "You're banned!")
	}
}

// FailDiscovery makes the next n socketconfig requests answer HTTP 500.
func (s *Server) FailDiscovery(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failDisc = n
}

// SetSilent makes the server go quiet (true) or come back (false): while
// silent it sends nothing, not even pings, and ignores what clients send,
// like a server that hangs with its sockets open.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// StallJoins makes the server ignore joinChannel while it keeps pinging:
// a server that never lets a client in, which a client must notice.
func (s *Server) StallJoins(stall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallJoins = stall
}

// SetMaxPayload sets the largest frame (bytes) the handshake of the next
// connections advertises, as a server restarted with another
// maxHttpBufferSize would; n below 1 restores the default, 1 MiB.
func (s *Server) SetMaxPayload(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPayload = max(n, 0)
}

// Hold makes the server receive the named client events (Frames lists
// them) but act on none of them until Release, like a server busy
// elsewhere: an answer can then be made to come after other events, or
// never, when the connection drops first.
func (s *Server) Hold(events ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]bool{}
	}
	for _, e := range events {
		s.held[e] = true
	}
}

// Release stops holding events and acts on those held, in the order they
// came, except those of connections closed meanwhile (they are lost).
func (s *Server) Release() {
	s.mu.Lock()
	held := s.heldFrames
	s.held, s.heldFrames = nil, nil
	var touched []*conn
	s.batch = &touched
	for _, h := range held {
		select {
		case <-h.c.done: // closed: what it sent is lost
		default:
			if !h.c.disconnected {
				h.c.process(h.p)
				s.afterProcessLocked(h.c, h.p)
			}
		}
	}
	s.batch = nil
	s.mu.Unlock()
	for _, c := range touched {
		c.flush()
	}
}

// DropAfter makes the server act on the next n client events named event
// (from any connection; n below 1 counts as 1) and drop the connection
// that sent each one right after, before writing it anything more: the
// request reached CyTube and was carried out, but its answer (a chat
// line's echo) never reached the client. Held events (Hold) count when
// they are released.
func (s *Server) DropAfter(event string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropAfter == nil {
		s.dropAfter = map[string]int{}
	}
	s.dropAfter[event] += max(n, 1)
}

// afterProcessLocked drops c if DropAfter asked for it after p.
func (s *Server) afterProcessLocked(c *conn, p socketio.Packet) {
	if s.dropAfter[p.Name] <= 0 {
		return
	}
	s.dropAfter[p.Name]--
	c.qmu.Lock()
	c.queue = nil // nothing more reaches the client
	c.qmu.Unlock()
	c.close()
}

type heldFrame struct {
	c *conn
	p socketio.Packet
}

// StallReads makes the server stop (true) or resume (false) reading from
// its connections, like a server too busy to read: what clients send fills
// the TCP buffers, and their writes block. It still writes to them.
func (s *Server) StallReads(stall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stall && s.readGate == nil:
		s.readGate = make(chan struct{})
	case !stall && s.readGate != nil:
		close(s.readGate)
		s.readGate = nil
	}
}

// DropAll closes every websocket abruptly, as a network failure would, and
// returns how many were closed.
func (s *Server) DropAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.conns)
	for c := range s.conns {
		c.close()
	}
	return n
}

// Restart simulates a server restart: every connection is dropped, virtual
// users leave, unregistered channels forget their history and media, and
// the per-IP limits start afresh. Accounts and registered channels stay.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.close()
	}
	for name, ch := range s.channels {
		ch.users = nil
		if !ch.cfg.Registered {
			if !ch.known {
				delete(s.channels, name)
				continue
			}
			ch.history = nil
			ch.media = nil
			ch.items, ch.current, ch.poll, ch.leader = nil, nil, nil, ""
		}
	}
	s.buckets = map[string]*bucket{}
	s.guestAt = map[string]time.Time{}
}

// Join makes a virtual user with the given rank enter a channel (others see
// addUser). Joining again only updates the rank.
func (s *Server) Join(channelName, name string, rank float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	if u := ch.user(name); u != nil {
		u.rank = rank
		return
	}
	ch.addUser(&member{name: name, rank: rank})
}

// Leave makes a virtual user leave a channel.
func (s *Server) Leave(channelName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return
	}
	if u := ch.user(name); u != nil && u.conn == nil {
		ch.removeUser(u)
	}
}

// Say makes a virtual user say msg in a channel, with CyTube's processing
// (escaping, filters, truncation) but no flood limit. The user joins with
// rank 0 first if absent. The line goes into the history.
func (s *Server) Say(channelName, name, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	if ch.user(name) == nil {
		ch.addUser(&member{name: name})
	}
	text, meta, ok := s.prepare(msg)
	if !ok {
		return
	}
	s.broadcastChatLocked(ch, name, text, meta)
}

// PM sends a private message from a virtual user to a user of the channel.
func (s *Server) PM(channelName, from, to, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	if ch.user(from) == nil {
		ch.addUser(&member{name: from})
	}
	target := ch.user(to)
	if target == nil {
		return fmt.Errorf("cytubetest: pm: %s isn't connected to %s", to, channelName)
	}
	text, meta, ok := s.prepare(msg)
	if !ok {
		return fmt.Errorf("cytubetest: pm: empty message")
	}
	s.deliverPMLocked(ch, ch.user(from), target, text, meta)
	return nil
}

// SetRank changes a present user's rank (setUserRank to the channel, rank
// to the user).
func (s *Server) SetRank(channelName, name string, rank float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return
	}
	u := ch.user(name)
	if u == nil {
		return
	}
	u.rank = rank
	if u.conn != nil {
		u.conn.rank = rank
		u.conn.emit("rank", rank)
	}
	ch.emitAll("setUserRank", map[string]any{"name": u.name, "rank": rank})
}

// Kick kicks a connected user from a channel, as a moderator would: kick
// {reason} then a Socket.IO disconnect, leaving the websocket open as
// CyTube does. It reports whether someone was kicked.
func (s *Server) Kick(channelName, name, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return false
	}
	cs := ch.connsNamed(name)
	for _, c := range cs {
		s.kickLocked(c, reason)
	}
	return len(cs) > 0
}

// ChangeMedia puts m on the playlist, after the current item, and plays it
// (queue, setCurrent and changeMedia). It returns the item's uid.
func (s *Server) ChangeMedia(channelName string, m Media) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	it := ch.insertLocked(m, "[server]", false, true)
	ch.play(it)
	return it.uid
}

// Users lists who is in a channel.
func (s *Server) Users(channelName string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return nil
	}
	out := make([]User, 0, len(ch.users))
	for _, u := range ch.users {
		out = append(out, User{Name: u.name, Rank: u.rank, Virtual: u.conn == nil, AFK: u.afk, Muted: u.muted, Shadow: u.smuted})
	}
	return out
}

// Messages returns every chat line and PM delivered so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Watch delivers every chat line and PM delivered from now on, until stop
// is called. The channel holds buf messages; when the reader falls further
// behind, messages are left out of the channel (Messages still has them).
func (s *Server) Watch(buf int) (msgs <-chan Message, stop func()) {
	ch := make(chan Message, buf)
	s.mu.Lock()
	if s.watchers == nil {
		s.watchers = map[chan Message]struct{}{}
	}
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.watchers, ch)
		s.mu.Unlock()
	}
}

func (s *Server) recordLocked(m Message) {
	s.messages = append(s.messages, m)
	for w := range s.watchers {
		select {
		case w <- m:
		default:
		}
	}
	s.notifyLocked()
}

// Frames returns every event clients have sent, oldest first.
func (s *Server) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.frames...)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Open = len(s.conns)
	return st
}

// WaitMessage waits until a delivered chat line or PM satisfies match,
// looking at past messages too, and returns it.
func (s *Server) WaitMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	seen := 0
	for {
		s.mu.Lock()
		for ; seen < len(s.messages); seen++ {
			if m := s.messages[seen]; match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("cytubetest: wait for message: %w", ctx.Err())
		}
	}
}

// WaitFrame waits until a client-sent event satisfies match, looking at
// past frames too, and returns it.
func (s *Server) WaitFrame(ctx context.Context, match func(Frame) bool) (Frame, error) {
	seen := 0
	for {
		s.mu.Lock()
		for ; seen < len(s.frames); seen++ {
			if f := s.frames[seen]; match(f) {
				s.mu.Unlock()
				return f, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("cytubetest: wait for frame: %w", ctx.Err())
		}
	}
}

// WaitUser waits until name is present in a channel (joined and logged in).
func (s *Server) WaitUser(ctx context.Context, channelName, name string) error {
	for {
		s.mu.Lock()
		if ch := s.channelLocked(channelName, false); ch != nil && ch.user(name) != nil {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cytubetest: wait for %s in %s: %w", name, channelName, ctx.Err())
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) channelLocked(name string, create bool) *channel {
	key := strings.ToLower(name)
	ch := s.channels[key]
	if ch == nil && create {
		ch = &channel{s: s, name: key, bans: map[string]bool{}}
		ch.applyDefaults()
		s.channels[key] = ch
	}
	return ch
}

func (s *Server) serveSocketConfig(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	w.Header().Set("Content-Type", "application/json")
	s.mu.Lock()
	fail := s.failDisc > 0
	if fail {
		s.failDisc--
	}
	known := ok && channelName.MatchString(name)
	if known && s.cfg.StrictChannels {
		ch := s.channelLocked(name, false)
		known = ch != nil && ch.known
	}
	s.mu.Unlock()
	switch {
	case fail:
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "internal error"})
	case !known:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("Channel %q does not exist.", name)})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"servers": []map[string]any{
			{"url": s.URL, "secure": false},
		}})
	}
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.nextID++
	c := newConn(s, ws, ip, fmt.Sprintf("sid%06d", s.nextID))
	s.conns[c] = struct{}{}
	s.stats.ConnectAttempts++
	c.refusal = s.admitLocked(ip)
	s.notifyLocked()
	s.wg.Add(3)
	s.mu.Unlock()
	go c.writeLoop()
	go c.pingLoop()
	go c.readLoop()
}

// admitLocked applies the per-IP connection rules and returns the connect
// error to send after the client's "40", or "".
func (s *Server) admitLocked(ip string) string {
	if s.serverBans[ip] {
		return "You are banned from the server"
	}
	if s.cfg.ConnectBurst > 0 {
		now := time.Now()
		b := s.buckets[ip]
		if b == nil {
			b = &bucket{tokens: float64(s.cfg.ConnectBurst), at: now}
			s.buckets[ip] = b
		}
		b.tokens += float64(now.Sub(b.at)) / float64(s.cfg.ConnectInterval)
		if b.tokens > float64(s.cfg.ConnectBurst) {
			b.tokens = float64(s.cfg.ConnectBurst)
		}
		b.at = now
		if b.tokens < 1 {
			s.stats.RateLimited++
			return "Rate limit exceeded"
		}
		b.tokens--
	}
	return ""
}

func (s *Server) kickLocked(c *conn, reason string) {
	s.stats.Kicks++
	if reason == "" {
		c.emit("kick", map[string]any{})
	} else {
		c.emit("kick", map[string]any{"reason": reason})
	}
	c.sendFrame([]byte("41"))
	c.disconnected = true
	if c.ch != nil {
		if u := c.ch.user(c.name); u != nil && u.conn == c {
			c.ch.removeUser(u)
		}
		c.ch = nil
	}
	s.notifyLocked()
}

// SendRaw sends a raw text frame to every open connection, to test how a
// client copes with frames CyTube would never send.
func (s *Server) SendRaw(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.sendFrame(append([]byte{}, frame...)) // never nil: nil means "close"
	}
}
