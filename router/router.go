package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// What the router does with a command nobody answers (Config.UnknownCommand).
const (
	// UnknownHint answers with a short hint pointing at !help (the default).
	UnknownHint = "hint"
	// UnknownIgnore answers nothing.
	UnknownIgnore = "ignore"
)

// Defaults.
const (
	DefaultPrefix     = "!"
	DefaultTimeout    = 5 * time.Second
	DefaultHintEvery  = time.Minute
	DefaultConcurrent = 256
)

// ErrInvalidConfig means a Config failed validation.
var ErrInvalidConfig = errors.New("router: invalid config")

// Config configures a Router. The zero value is usable.
type Config struct {
	// Prefix starts every command; default "!".
	Prefix string `json:"prefix,omitempty"`
	// Admins are user names treated as at least rank 3 (channel admin),
	// whatever rank CyTube reports. Names compare case-insensitively.
	Admins []string `json:"admins,omitempty"`
	// Ignore lists users whose lines are never routed.
	Ignore []string `json:"ignore,omitempty"`
	// BotName is the bot's own user name; its lines are never routed. The
	// router also learns it from cytube.connection events.
	BotName string `json:"bot_name,omitempty"`
	// Timeout is how long a plugin has to answer; default 5 seconds.
	Timeout time.Duration `json:"-"`
	// UnknownCommand is UnknownHint (default), UnknownIgnore, or a custom
	// answer in which {command} is replaced by the command word.
	UnknownCommand string `json:"unknown_command,omitempty"`
	// HintEvery limits unknown-command answers to one per user per period;
	// default one minute.
	HintEvery time.Duration `json:"-"`
	// Routes maps command words to plugin names for plugins that do not
	// announce themselves (such as the seed's standalone example, which only
	// subscribes to plugin.<name>.command). Such a plugin may answer by reply
	// or by publishing cytube.send.chat itself; silence is not an error.
	Routes map[string]string `json:"routes,omitempty"`
	// MaxConcurrent bounds the commands in flight; default 256.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// Logger receives the router's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if c.Prefix != "" && (strings.ContainsFunc(c.Prefix, unicode.IsSpace) || utf8.RuneCountInString(c.Prefix) > 8) {
		return fmt.Errorf("%w: prefix: %q must be 1-8 characters without spaces", ErrInvalidConfig, c.Prefix)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: timeout: must not be negative", ErrInvalidConfig)
	}
	if c.HintEvery < 0 {
		return fmt.Errorf("%w: hint_every: must not be negative", ErrInvalidConfig)
	}
	if c.MaxConcurrent < 0 {
		return fmt.Errorf("%w: max_concurrent: must not be negative", ErrInvalidConfig)
	}
	for w, p := range c.Routes {
		if w == "" || strings.ContainsFunc(w, unicode.IsSpace) || p == "" || strings.ContainsAny(p, " .*>") {
			return fmt.Errorf("%w: routes: %q -> %q: need a command word and a plugin name", ErrInvalidConfig, w, p)
		}
	}
	return nil
}

// Router turns chat lines into plugin commands and plugin answers into chat
// lines. It listens on cytube.chat and cytube.pm, sends each command as a
// request to plugin.<name>.command, and sends the answer back where the
// command came from: chat to chat, PM to PM. Answers leave in the order the
// commands arrived.
//
// On NATS it subscribes to cytube.* (chat, PMs and connection events, in
// one subscription so that their order holds), to its own _INBOX reply
// subjects and to platform.plugin.*.* (plugin lifecycle); it publishes to
// plugin.*.command, cytube.send.* and $SRV.INFO (plugin discovery). A NATS
// user of its own needs those permissions.
type Router struct {
	bus *eventbus.Bus
	dir *plugin.Directory
	own bool // the router started dir itself
	cfg Config
	log *slog.Logger

	admins map[string]bool
	ignore map[string]bool
	routes map[string]string
	bot    atomic.Pointer[string]

	subs []*eventbus.Subscription
	// gate keeps Stop from racing a handler that is still delivering (a
	// drained subscription can deliver after Unsubscribe returns).
	gate   sync.RWMutex
	closed bool

	// Plugin answers arrive on one inbox subscription of the router's own
	// rather than one request each: fewer goroutine hand-offs per command.
	inbox    string
	replies  *nats.Subscription
	inflight chan struct{} // bounds commands in flight
	wg       sync.WaitGroup
	seq      atomic.Uint64

	qmu     sync.Mutex
	queue   []*pending          // answers in arrival order
	waiting map[uint64]*pending // by token, unique to each command
	// Reply subjects are reused: the last token of the reply subject is a
	// slot, not the command's token. A subject NATS has seen before is
	// matched from its caches; a fresh one per command cost the server a
	// sublist walk and cache churn on every answer. A slot is reused only
	// after its command was answered; one that timed out is retired, so a
	// late answer finds nobody.
	slots    map[uint64]uint64 // slot → token of the command waiting on it
	free     []*replySlot      // slots ready for reuse
	nextSlot uint64
	// Every command has the same timeout, so deadlines come in order: one
	// timer, set for the oldest, serves them all (rather than one timer
	// per command).
	deadlines []deadline
	expiry    *time.Timer
	armed     bool
	subjects  sync.Map // plugin name → its command subject

	mu       sync.Mutex
	cooldown map[cooldownKey]*cooldownEntry
	hinted   map[string]time.Time

	commands  atomic.Uint64
	lastSweep atomic.Int64 // unix nanoseconds of the last rediscovery
}

// replySlot is a reply subject the router reuses.
type replySlot struct {
	n       uint64
	subject string
}

type deadline struct {
	at    time.Time
	token uint64
}

type cooldownKey struct{ user, command string }

type cooldownEntry struct {
	until    time.Time
	notified bool
}

// pending is one command's answer slot. Answers are sent in the order the
// slots were queued; a slot is ready once its answer is known.
type pending struct {
	ctx    context.Context
	to     target
	text   string
	ready  bool
	name   string // plugin
	cmd    string
	static bool
	slot   *replySlot
	// corr is the command's correlation id: an answer that carries another
	// is not this command's (a stray duplicate on a reused slot).
	corr string
	// cool is the cooldown this command started; a failed command
	// (usage error, timeout) gives it back.
	cool *cooldownKey
}

type target struct {
	user, channel, source string
}

// New returns a Router. dir is the plugin directory to route by; with nil
// the router keeps its own, discovering plugins over NATS (for a router
// running in a process of its own).
func New(bus *eventbus.Bus, dir *plugin.Directory, cfg Config) (*Router, error) {
	if bus == nil {
		return nil, fmt.Errorf("%w: bus is required", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HintEvery == 0 {
		cfg.HintEvery = DefaultHintEvery
	}
	if cfg.UnknownCommand == "" {
		cfg.UnknownCommand = UnknownHint
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultConcurrent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		bus:      bus,
		dir:      dir,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "router"),
		admins:   lowerSet(cfg.Admins),
		ignore:   lowerSet(cfg.Ignore),
		routes:   map[string]string{},
		cooldown: map[cooldownKey]*cooldownEntry{},
		hinted:   map[string]time.Time{},
		waiting:  map[uint64]*pending{},
		slots:    map[uint64]uint64{},
	}
	for w, p := range cfg.Routes {
		r.routes[strings.ToLower(w)] = p
	}
	name := cfg.BotName
	r.bot.Store(&name)
	return r, nil
}

func lowerSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// Start subscribes to chat, PMs and connection events.
func (r *Router) Start(ctx context.Context) error {
	if r.dir == nil {
		r.dir = plugin.NewDirectory(r.bus)
		if err := r.dir.Start(ctx, 0); err != nil {
			return err
		}
		r.own = true
	}
	r.closed = false
	r.inflight = make(chan struct{}, r.cfg.MaxConcurrent)
	nc := r.bus.Conn()
	r.inbox = nc.NewInbox()
	r.qmu.Lock()
	r.free = nil // slots of an earlier start name its old inbox
	r.qmu.Unlock()
	replies, err := nc.Subscribe(r.inbox+".*", r.onReply)
	if err != nil {
		return fmt.Errorf("router: subscribe replies: %w", err)
	}
	r.replies = replies
	// One subscription for chat, PMs and connection events (the contract's
	// two-token cytube subjects): they are handled in the order they were
	// said, so a PM's answer and a chat answer keep that order too, and a
	// "connected as" event is seen before the lines after it.
	chat, pm := r.onLine(plugin.SourceChat), r.onLine(plugin.SourcePM)
	sub, err := r.bus.Subscribe(cytubeEvents, func(ctx context.Context, ev *eventbus.Event) {
		switch ev.Subject {
		case protocol.Chat:
			chat(ctx, ev)
		case protocol.PM:
			pm(ctx, ev)
		case protocol.Connection:
			r.onConnection(ctx, ev)
		}
	})
	if err != nil {
		_ = r.Stop(ctx)
		return err
	}
	r.subs = append(r.subs, sub)
	// Once Start returns the server has the subscriptions: a line said
	// from another connection right after is not missed.
	if err := r.bus.Flush(ctx); err != nil {
		_ = r.Stop(ctx)
		return fmt.Errorf("router: start: %w", err)
	}
	return nil
}

// cytubeEvents matches cytube.chat, cytube.pm and cytube.connection (and no
// cytube.send.*, which have three tokens).
const cytubeEvents = "cytube.*"

// Stop unsubscribes, lets the commands in flight finish (each is bounded by
// the plugin timeout) and sends their answers.
func (r *Router) Stop(ctx context.Context) error {
	var errs []error
	for _, s := range r.subs {
		if err := s.Unsubscribe(); err != nil {
			errs = append(errs, err)
		}
	}
	r.subs = nil
	r.gate.Lock()
	r.closed = true
	r.gate.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("router: stop: %w", ctx.Err()))
	}
	r.qmu.Lock()
	if r.expiry != nil {
		r.expiry.Stop()
		r.armed = false
	}
	r.qmu.Unlock()
	if r.replies != nil {
		_ = r.replies.Unsubscribe()
		r.replies = nil
	}
	if r.own {
		r.dir.Stop()
	}
	return errors.Join(errs...)
}

// Commands counts the commands routed so far.
func (r *Router) Commands() uint64 { return r.commands.Load() }

func (r *Router) onConnection(_ context.Context, ev *eventbus.Event) {
	var c protocol.ConnectionEvent
	if err := ev.Decode(&c); err != nil {
		r.log.Error("bad connection event", "err", err)
		return
	}
	if c.User != "" && c.State == protocol.StateConnected {
		name := c.User
		r.bot.Store(&name)
	}
}

func (r *Router) onLine(source string) eventbus.Handler {
	return func(ctx context.Context, ev *eventbus.Event) {
		if notCommand(ev.Data, r.cfg.Prefix) {
			return
		}
		var m protocol.ChatMessage
		if err := decodeChat(ev, &m); err != nil {
			r.log.Error("malformed chat event", "subject", ev.Subject, "err", err, "correlation_id", ev.CorrelationID)
			return
		}
		// Fast path first: most chat is not a command.
		if !strings.HasPrefix(m.Message, r.cfg.Prefix) || m.User == "" {
			return
		}
		if r.ignore[strings.ToLower(m.User)] || protocol.SameUser(m.User, *r.bot.Load()) {
			return
		}
		r.gate.RLock()
		defer r.gate.RUnlock()
		if r.closed {
			return
		}
		r.route(ctx, source, m)
	}
}

var messageKey = []byte(`"message"`)

// notCommand reports, without decoding, that body is surely a chat line
// whose message does not start with prefix. Most chat is not a command, so
// this keeps the router's cost per line near NATS's own. Anything unusual
// (escapes, several "message" keys, bad JSON) answers false and gets a
// full decode, which also logs malformed input.
func notCommand(body []byte, prefix string) bool {
	i := bytes.Index(body, messageKey)
	if i < 0 || bytes.Index(body[i+len(messageKey):], messageKey) >= 0 {
		return false
	}
	before := bytes.TrimRight(body[:i], " \t\r\n")
	if len(before) == 0 || (before[len(before)-1] != '{' && before[len(before)-1] != ',') {
		return false
	}
	rest := bytes.TrimLeft(body[i+len(messageKey):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 2 || rest[0] != '"' || rest[1] == '\\' {
		return false
	}
	return !bytes.HasPrefix(rest[1:], []byte(prefix)) && !bytes.ContainsAny([]byte(prefix), `"\\`)
}

// parse splits "!Roll 2d6  +1" into "roll", "2d6  +1" and ["2d6", "+1"].
func (r *Router) parse(line string) (word, text string, args []string) {
	rest := strings.TrimPrefix(line, r.cfg.Prefix)
	i := strings.IndexFunc(rest, unicode.IsSpace)
	if i < 0 {
		return strings.ToLower(rest), "", []string{}
	}
	text = strings.TrimSpace(rest[i:])
	return strings.ToLower(rest[:i]), text, strings.Fields(text)
}

func (r *Router) route(ctx context.Context, source string, m protocol.ChatMessage) {
	word, text, args := r.parse(m.Message)
	if word == "" || strings.HasPrefix(word, r.cfg.Prefix) {
		return // "!" alone, or "!!!" excitement
	}
	to := target{user: m.User, channel: m.Channel, source: source}
	rank := m.Rank
	if r.admins[strings.ToLower(m.User)] && rank < protocol.RankAdmin {
		rank = protocol.RankAdmin
	}
	name, cmd, known := r.dir.Lookup(word)
	if !known && r.rediscover(ctx) {
		name, cmd, known = r.dir.Lookup(word)
	}
	static := false
	if !known {
		if name, static = r.routes[word]; !static {
			r.unknown(ctx, to, word)
			return
		}
		cmd = plugin.Command{Name: word}
	}
	if rank < cmd.MinRank {
		r.answerNow(ctx, to, fmt.Sprintf("⛔ %s%s needs rank %s or higher.", r.cfg.Prefix, cmd.Name, protocol.RankName(cmd.MinRank)))
		return
	}
	var cool *cooldownKey
	if cmd.Cooldown > 0 {
		key := cooldownKey{strings.ToLower(m.User), name + "/" + cmd.Name}
		if msg, wait := r.checkCooldown(key, m.User, cmd.Cooldown); wait {
			if msg != "" {
				r.answerNow(ctx, to, msg)
			}
			return
		}
		cool = &key
	}
	r.commands.Add(1)
	req := plugin.Request{Command: cmd.Name, Args: args, Text: text, User: m.User, Channel: m.Channel, Rank: rank, Source: source}
	r.ask(ctx, to, name, req, static, cool)
}

// ask sends the command to the plugin; the answer arrives in onReply, or
// the timer fires first.
func (r *Router) ask(ctx context.Context, to target, name string, req plugin.Request, static bool, cool *cooldownKey) {
	body, err := encodeRequest(req)
	if err != nil {
		r.log.Error("could not encode command", "err", err)
		return
	}
	corr := eventbus.CorrelationID(ctx)
	if corr == "" { // a chat line without an envelope: give the command an id to check answers by
		corr = eventbus.NewCorrelationID()
		ctx = eventbus.WithCorrelationID(ctx, corr)
	}
	token := r.seq.Add(1)
	p := &pending{ctx: ctx, to: to, name: name, cmd: req.Command, static: static, cool: cool, corr: corr}
	r.inflight <- struct{}{}
	r.enqueue(p)
	r.qmu.Lock()
	r.waiting[token] = p
	p.slot = r.takeSlotLocked()
	r.slots[p.slot.n] = token
	r.addDeadlineLocked(token)
	r.qmu.Unlock()
	if err := r.bus.PublishRequest(ctx, r.commandSubject(name), p.slot.subject, body); err != nil {
		r.log.Error("could not send command", "plugin", name, "err", err)
		r.settle(token, fmt.Sprintf("⚠️ %s could not be reached.", name), true, false)
	}
}

// takeSlotLocked returns a free reply slot, or a new one; the caller holds qmu.
func (r *Router) takeSlotLocked() *replySlot {
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free = r.free[:n-1]
		return s
	}
	r.nextSlot++
	return &replySlot{n: r.nextSlot, subject: r.inbox + "." + strconv.FormatUint(r.nextSlot, 36)}
}

// commandSubject is protocol.PluginCommand(name), remembered: building it
// for every command was an allocation on the hottest path.
func (r *Router) commandSubject(name string) string {
	if s, ok := r.subjects.Load(name); ok {
		return s.(string)
	}
	s := protocol.PluginCommand(name)
	r.subjects.Store(name, s)
	return s
}

// addDeadlineLocked starts token's timeout; the caller holds qmu.
func (r *Router) addDeadlineLocked(token uint64) {
	// Answered commands at the head need no timeout any more.
	for len(r.deadlines) > 0 {
		if _, live := r.waiting[r.deadlines[0].token]; live {
			break
		}
		r.deadlines = r.deadlines[1:]
	}
	r.deadlines = append(r.deadlines, deadline{at: time.Now().Add(r.cfg.Timeout), token: token})
	if r.armed {
		return
	}
	r.armed = true
	if r.expiry == nil {
		r.expiry = time.AfterFunc(r.cfg.Timeout, r.expire)
	} else {
		r.expiry.Reset(r.cfg.Timeout)
	}
}

// expire times out the commands whose deadline has passed and sets the
// timer for the next one.
func (r *Router) expire() {
	now := time.Now()
	var due []uint64
	r.qmu.Lock()
	i := 0
	for ; i < len(r.deadlines); i++ {
		d := r.deadlines[i]
		if _, live := r.waiting[d.token]; !live {
			continue
		}
		if d.at.After(now) {
			break
		}
		due = append(due, d.token)
	}
	r.deadlines = r.deadlines[i:]
	if len(r.deadlines) > 0 {
		r.expiry.Reset(r.deadlines[0].at.Sub(now))
	} else {
		r.armed = false
	}
	r.qmu.Unlock()
	for _, t := range due {
		r.timeout(t)
	}
}

func (r *Router) timeout(token uint64) {
	r.qmu.Lock()
	p := r.waiting[token]
	r.qmu.Unlock()
	if p == nil {
		return
	}
	if p.static { // a fire-and-forget plugin speaks for itself
		r.settle(token, "", false, false)
		return
	}
	r.log.Warn("plugin did not answer in time", "plugin", p.name, "command", p.cmd, "timeout", r.cfg.Timeout)
	r.settle(token, fmt.Sprintf("⏱️ %s did not answer in time. Try again later.", p.name), true, false)
}

func (r *Router) onReply(m *nats.Msg) {
	slot, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 36, 64)
	if err != nil {
		return // not an answer this router asked for
	}
	r.qmu.Lock()
	token, ok := r.slots[slot]
	p := r.waiting[token]
	r.qmu.Unlock()
	if !ok || p == nil {
		return // too late: already timed out
	}
	if c := m.Header[eventbus.HeaderCorrelationID]; len(c) > 0 && c[0] != "" && c[0] != p.corr {
		// A second answer to an earlier command on this slot, or a plugin
		// that does not keep the request's id (docs/PROTOCOL.md asks it to).
		r.log.Warn("plugin answer dropped: not the waiting command's correlation id", "plugin", p.name, "command", p.cmd, "want", p.corr, "got", c[0])
		return
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		r.log.Warn("plugin not running", "plugin", p.name, "command", p.cmd)
		r.settle(token, fmt.Sprintf("⚠️ %s is not running right now.", p.name), true, true)
		return
	}
	text, failed := r.answer(p, m)
	r.settle(token, text, failed, true)
}

// Rediscovery: an unknown command may belong to a plugin whose
// announcement this router missed (it crossed a cluster before the
// router's interest did). Ask NATS again, at most every rediscoverEvery.
const (
	rediscoverEvery = 5 * time.Second
	rediscoverWait  = 300 * time.Millisecond
)

// rediscover sweeps for plugins if none was done lately, and reports
// whether it did.
func (r *Router) rediscover(ctx context.Context) bool {
	now := time.Now().UnixNano()
	last := r.lastSweep.Load()
	if now-last < int64(rediscoverEvery) || !r.lastSweep.CompareAndSwap(last, now) {
		return false
	}
	if err := r.dir.Refresh(ctx, rediscoverWait); err != nil {
		r.log.Debug("plugin rediscovery failed", "err", err)
	}
	return true
}

// answer turns a plugin's reply into what the user sees, and says whether
// the command failed.
func (r *Router) answer(p *pending, m *nats.Msg) (string, bool) {
	var resp plugin.Response
	if err := decodeResponse(m, r.bus.Prefix(), &resp); err != nil {
		r.log.Error("malformed plugin reply", "plugin", p.name, "err", err)
		return fmt.Sprintf("⚠️ %s answered something I could not read.", p.name), true
	}
	switch {
	case resp.Error == "":
		return resp.Result, false
	case strings.HasPrefix(resp.Error, "❌") || strings.HasPrefix(resp.Error, "⚠") || strings.HasPrefix(resp.Error, "⛔"):
		return resp.Error, true
	case resp.Error == "internal error":
		return fmt.Sprintf("⚠️ Something went wrong in %s%s.", r.cfg.Prefix, p.cmd), true
	}
	return "❌ " + resp.Error, true
}

// settle records the answer for token, once. A failed command does not
// count against the user's cooldown. answered says the plugin's answer
// (or NATS's "no responders") came, so its reply slot can serve again;
// otherwise an answer may still be on its way and the slot is retired.
func (r *Router) settle(token uint64, text string, failed, answered bool) {
	r.qmu.Lock()
	p := r.waiting[token]
	delete(r.waiting, token)
	if p != nil {
		delete(r.slots, p.slot.n)
		if answered {
			r.free = append(r.free, p.slot)
		}
	}
	r.qmu.Unlock()
	if p == nil {
		return
	}
	<-r.inflight
	if failed && p.cool != nil {
		r.mu.Lock()
		delete(r.cooldown, *p.cool)
		r.mu.Unlock()
	}
	r.complete(p, text)
}

// answerNow queues an answer that needs no plugin, keeping the order.
func (r *Router) answerNow(ctx context.Context, to target, text string) {
	p := &pending{ctx: ctx, to: to}
	r.enqueue(p)
	r.complete(p, text)
}

func (r *Router) enqueue(p *pending) {
	r.wg.Add(1)
	r.qmu.Lock()
	r.queue = append(r.queue, p)
	r.qmu.Unlock()
}

// complete marks p answered and sends every answer at the head of the
// queue that is ready. Sending under the lock keeps the order; a publish
// only buffers, so the lock is held briefly.
func (r *Router) complete(p *pending, text string) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	p.text, p.ready = text, true
	n := 0
	for ; n < len(r.queue) && r.queue[n].ready; n++ {
		r.send(r.queue[n])
		r.wg.Done()
	}
	if n > 0 {
		r.queue = slices.Delete(r.queue, 0, n)
	}
}

func (r *Router) send(p *pending) {
	if p.text == "" {
		return
	}
	var err error
	if p.to.source == plugin.SourcePM {
		err = r.bus.Publish(p.ctx, protocol.SendPM, protocol.SendPMRequest{To: p.to.user, Message: p.text, Channel: p.to.channel})
	} else {
		var body []byte
		if body, err = encodeSendChat(protocol.SendChatRequest{Message: p.text, Channel: p.to.channel}); err == nil {
			err = r.bus.Publish(p.ctx, protocol.SendChat, body)
		}
	}
	if err != nil {
		r.log.Error("could not send answer", "err", err)
	}
}

func (r *Router) unknown(ctx context.Context, to target, word string) {
	if r.cfg.UnknownCommand == UnknownIgnore {
		return
	}
	now := time.Now()
	key := strings.ToLower(to.user)
	r.mu.Lock()
	last, ok := r.hinted[key]
	if ok && now.Sub(last) < r.cfg.HintEvery {
		r.mu.Unlock()
		return
	}
	r.hinted[key] = now
	if len(r.hinted) > 10000 {
		for u, t := range r.hinted {
			if now.Sub(t) >= r.cfg.HintEvery {
				delete(r.hinted, u)
			}
		}
	}
	r.mu.Unlock()
	text := r.cfg.UnknownCommand
	if text == UnknownHint {
		text = fmt.Sprintf("❓ Unknown command %s%s. Try %shelp.", r.cfg.Prefix, plugin.Clip(word, 32), r.cfg.Prefix)
	} else {
		text = strings.ReplaceAll(text, "{command}", plugin.Clip(word, 32))
	}
	r.answerNow(ctx, to, text)
}

// checkCooldown records a use and reports whether the user must wait, with
// the message to show (only the first refusal in a window gets one).
func (r *Router) checkCooldown(key cooldownKey, user string, d time.Duration) (string, bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.cooldown[key]; ok && now.Before(e.until) {
		if e.notified {
			return "", true
		}
		e.notified = true
		left := e.until.Sub(now).Round(time.Second)
		if left < time.Second {
			left = time.Second
		}
		return fmt.Sprintf("⏳ %s, wait %s before using that again.", user, left), true
	}
	r.cooldown[key] = &cooldownEntry{until: now.Add(d)}
	if len(r.cooldown) > 10000 {
		for k, e := range r.cooldown {
			if now.After(e.until) {
				delete(r.cooldown, k)
			}
		}
	}
	return "", false
}
