package router

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
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
	DefaultConcurrent = 1024
	DefaultPerUser    = 64
	DefaultMaxAnswer  = 2000
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
	// Timeout is how long a command may take, counted from when its line
	// reached the router; default 5 seconds. No answer is sent later than
	// that: the user gets a timeout notice instead.
	Timeout time.Duration `json:"-"`
	// UnknownCommand is UnknownHint (default), UnknownIgnore, or a custom
	// answer in which {command} is replaced by the command word.
	UnknownCommand string `json:"unknown_command,omitempty"`
	// HintEvery limits the unknown-command answer in chat, and the
	// overload notice everywhere, to one per user per period; default one
	// minute. A PM always gets its unknown-command answer.
	HintEvery time.Duration `json:"-"`
	// Routes maps command words to plugin names for plugins that do not
	// announce themselves (a plugin that only subscribes to
	// plugin.<name>.command and speaks by publishing cytube.send.chat).
	// Such a plugin may answer by reply or by publishing cytube.send.chat
	// itself; silence is not an error.
	Routes map[string]string `json:"routes,omitempty"`
	// MaxConcurrent bounds the commands waiting for an answer, for all
	// users together; default 1024. Past it a new command is refused at
	// once with a short ⏳ notice, counted (Refused) and logged. It is a
	// guard against a flood, not a pace: a bot answering 5,000 commands a
	// second has 256 in flight after a hiccup of 50 ms (a collection, a
	// disk flush), which 256 refused.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// MaxPerUser bounds the commands one user may have waiting; default 64.
	// Past it that user's new commands are refused like overload, so one
	// user's flood does not fill MaxConcurrent for everyone.
	MaxPerUser int `json:"max_per_user,omitempty"`
	// MaxAnswer is the longest answer, in characters, the router passes
	// on; a longer one is cut and ends with "…". Default 2000.
	MaxAnswer int `json:"max_answer,omitempty"`
	// Logger receives the router's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
	// Observer, if set, is told the outcome of every command (for
	// metrics). It is called on the router's hot path: keep it quick.
	Observer Observer `json:"-"`
	// Channels overrides settings in some channels, by channel name: a
	// prefix of their own, plugins that do not answer there.
	Channels map[string]ChannelConfig `json:"channels,omitempty"`
	// Clock tells the time for timeouts, cooldowns and the per-user
	// notice limits; nil is the wall clock. A test moves roseytest.Clock
	// by hand instead of sleeping.
	Clock plugin.Clock `json:"-"`
}

// Observer learns what became of each command the router saw.
type Observer interface {
	CommandDone(Outcome)
}

// Outcome is what became of one command.
type Outcome struct {
	Channel string
	// Plugin and Command name the command; both are empty for an unknown
	// command or one refused before it was looked up (never the user's
	// word, so metrics stay bounded).
	Plugin, Command string
	// Result is one of the Result constants.
	Result string
	// Latency runs from the line reaching the router to its answer being
	// sent (or the decision to send none).
	Latency time.Duration
}

// Results of a command (Outcome.Result).
const (
	ResultAnswered        = "answered"         // the plugin answered
	ResultError           = "error"            // the plugin answered with an error
	ResultTimeout         = "timeout"          // the plugin did not answer in time
	ResultNotRunning      = "not_running"      // nobody serves the plugin's subject
	ResultSilent          = "silent"           // a static route's plugin did not reply (not an error)
	ResultUnknown         = "unknown"          // no plugin has the command
	ResultRefusedRank     = "refused_rank"     // the user's rank is too low
	ResultRefusedCooldown = "refused_cooldown" // the user is in the command's cooldown
	ResultRefusedOverload = "refused_overload" // too many commands were waiting
)

// ChannelConfig is what a channel does differently (Config.Channels).
type ChannelConfig struct {
	// Prefix starts commands in this channel; empty is Config.Prefix.
	Prefix string `json:"prefix,omitempty"`
	// DisabledPlugins do not answer in this channel: their commands are
	// unknown there, and the plugins are not asked.
	DisabledPlugins []string `json:"disabled_plugins,omitempty"`
}

func validPrefix(p string) bool {
	return !strings.ContainsFunc(p, unicode.IsSpace) && utf8.RuneCountInString(p) <= 8
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if c.Prefix != "" && !validPrefix(c.Prefix) {
		return fmt.Errorf("%w: prefix: %q must be 1-8 characters without spaces", ErrInvalidConfig, c.Prefix)
	}
	for name, ch := range c.Channels {
		if name == "" {
			return fmt.Errorf("%w: channels: a channel needs a name", ErrInvalidConfig)
		}
		if ch.Prefix != "" && !validPrefix(ch.Prefix) {
			return fmt.Errorf("%w: channels: %s: prefix: %q must be 1-8 characters without spaces", ErrInvalidConfig, name, ch.Prefix)
		}
		if slices.Contains(ch.DisabledPlugins, "") {
			return fmt.Errorf("%w: channels: %s: disabled_plugins: a name is empty", ErrInvalidConfig, name)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: timeout: must not be negative", ErrInvalidConfig)
	}
	if c.HintEvery < 0 {
		return fmt.Errorf("%w: hint_every: must not be negative", ErrInvalidConfig)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_concurrent", c.MaxConcurrent}, {"max_per_user", c.MaxPerUser}, {"max_answer", c.MaxAnswer}} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s: must not be negative", ErrInvalidConfig, f.name)
		}
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
// command came from: chat to chat, PM to PM.
//
// Answers to one user in one channel leave in the order that user spoke;
// nothing else waits, so a slow or silent plugin delays only the users who
// asked it. Each command has its own reply subject, never reused, so an
// answer is never taken for another command's, whatever the plugin does
// with headers.
//
// On NATS it subscribes to cytube.* (chat, PMs and connection events, in
// one subscription so that their order holds), to its own _INBOX reply
// subjects and to platform.plugin.*.* (plugin lifecycle); it publishes to
// plugin.*.command, cytube.send.* and $SRV.INFO (plugin discovery). A NATS
// user of its own needs those permissions.
type Router struct {
	bus   *eventbus.Bus
	dir   *supervisor.Directory
	own   bool // the router started dir itself
	cfg   Config
	log   *slog.Logger
	clock plugin.Clock

	admins map[string]bool
	ignore map[string]bool
	routes map[string]string
	// prefixes are every prefix in use, the default first; channels are
	// the channels that differ from the default.
	prefixes []string
	channels map[string]channelRules
	bot      atomic.Pointer[string]

	subs []*eventbus.Subscription
	// gate keeps Stop from racing a handler that is still delivering (a
	// drained subscription can deliver after Unsubscribe returns).
	gate   sync.RWMutex
	closed bool

	// Plugin answers arrive on one wildcard subscription of the router's
	// own inbox; the last token of each reply subject is random and used
	// once, so neither a plugin answering twice nor one guessing subjects
	// can answer another command.
	inbox    string
	replies  *nats.Subscription
	wg       sync.WaitGroup // answers not yet sent, and sweeps running
	subjects sync.Map       // plugin name → its command subject

	qmu     sync.Mutex
	queues  map[userKey][]*pending // answers owed to each user, in the order asked
	waiting map[string]*pending    // by reply token
	open    int                    // commands not yet answered
	// Every command's deadline is its arrival plus the same timeout, and
	// lines are admitted in the order they arrive: deadlines come in
	// order, so one timer, set for the oldest, serves them all (a timer
	// per command cost more than the rest of the router's work).
	deadlines []*pending
	expiry    plugin.Timer // set for the oldest deadline while there is one
	stopLoop  chan struct{}
	loopDone  chan struct{}

	mu       sync.Mutex
	cooldown map[cooldownKey]*cooldownEntry
	hinted   map[string]time.Time
	busy     map[string]time.Time // last overload notice per user

	smu       sync.Mutex
	sweeping  chan struct{} // closed when the running rediscovery ends
	lastSweep time.Time

	commands atomic.Uint64
	refused  atomic.Uint64
}

// channelRules are a channel's settings, resolved.
type channelRules struct {
	prefix   string
	disabled map[string]bool // plugin names, lower case
}

// rules returns channel's settings.
func (r *Router) rules(channel string) channelRules {
	if c, ok := r.channels[channel]; ok {
		return c
	}
	return channelRules{prefix: r.cfg.Prefix}
}

type cooldownKey struct{ user, command string }

type cooldownEntry struct {
	until    time.Time
	notified bool
}

// userKey names one user in one channel: the answers owed to them keep
// the order they asked in.
type userKey struct{ user, channel string }

// pending is one line's answer. A user's answers are sent in the order
// their lines came; a pending is ready once its answer is known.
type pending struct {
	ctx      context.Context
	to       target
	key      userKey
	arrived  time.Time
	deadline time.Time
	prefix   string // the command prefix in the line's channel
	result   string // an Outcome.Result; empty for the router's own notices
	text     string
	ready    bool
	settled  bool
	name     string // plugin
	cmd      string
	static   bool
	token    string // the reply subject's last token; empty until asked
	// corr is the command's correlation id: an answer that carries another
	// is not this command's.
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
func New(bus *eventbus.Bus, dir *supervisor.Directory, cfg Config) (*Router, error) {
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
	if cfg.MaxPerUser == 0 {
		cfg.MaxPerUser = DefaultPerUser
	}
	if cfg.MaxAnswer == 0 {
		cfg.MaxAnswer = DefaultMaxAnswer
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
		busy:     map[string]time.Time{},
		queues:   map[userKey][]*pending{},
		waiting:  map[string]*pending{},
	}
	for w, p := range cfg.Routes {
		r.routes[strings.ToLower(w)] = p
	}
	r.prefixes = []string{cfg.Prefix}
	r.channels = map[string]channelRules{}
	for name, ch := range cfg.Channels {
		rules := channelRules{prefix: cmp.Or(ch.Prefix, cfg.Prefix), disabled: lowerSet(ch.DisabledPlugins)}
		r.channels[name] = rules
		if !slices.Contains(r.prefixes, rules.prefix) {
			r.prefixes = append(r.prefixes, rules.prefix)
		}
	}
	r.clock = cfg.Clock
	if r.clock == nil {
		r.clock = plugin.WallClock()
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
		r.dir = supervisor.NewDirectory(r.bus)
		if err := r.dir.Start(ctx, 0); err != nil {
			return err
		}
		r.own = true
	}
	r.closed = false
	r.stopLoop, r.loopDone = make(chan struct{}), make(chan struct{})
	r.expiry = r.clock.NewTimer(time.Hour)
	r.expiry.Stop()
	go r.expireLoop(r.expiry, r.stopLoop, r.loopDone)
	nc := r.bus.Conn()
	r.inbox = nc.NewInbox()
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
	// Plugins ask for the admins, to protect them too (moderation).
	admins, err := r.bus.Subscribe(protocol.RouterAdmins, r.onAdmins)
	if err != nil {
		_ = r.Stop(ctx)
		return err
	}
	r.subs = append(r.subs, admins)
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
	if r.stopLoop != nil {
		close(r.stopLoop)
		<-r.loopDone
		r.stopLoop = nil
	}
	if r.replies != nil {
		_ = r.replies.Unsubscribe()
		r.replies = nil
	}
	if r.own {
		r.dir.Stop()
	}
	return errors.Join(errs...)
}

// onAdmins answers platform.router.admins with Config.Admins.
func (r *Router) onAdmins(ctx context.Context, ev *eventbus.Event) {
	if !ev.IsRequest() {
		return
	}
	admins := append([]string{}, r.cfg.Admins...)
	if err := r.bus.Respond(ctx, ev, protocol.RouterAdminsReply{OK: true, Admins: admins}); err != nil {
		r.log.Warn("could not answer a request for the admins", "err", err)
	}
}

// Commands counts the commands routed so far.
func (r *Router) Commands() uint64 { return r.commands.Load() }

// Waiting reports how many lines are owed an answer that is not sent yet
// (their plugins have not answered, or an earlier line of the same user's
// is still waiting). With none waiting, every answer has been published.
func (r *Router) Waiting() int {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	return r.open
}

// Refused counts the commands refused because too many were waiting
// (Config.MaxConcurrent, Config.MaxPerUser).
func (r *Router) Refused() uint64 { return r.refused.Load() }

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
		arrived := r.clock.Now()
		if r.surelyNotCommand(ev.Data) {
			return
		}
		var m protocol.ChatMessage
		if err := chatevent.Decode(ev, &m); err != nil {
			r.log.Error("malformed chat event", "subject", ev.Subject, "err", err, "correlation_id", ev.CorrelationID)
			return
		}
		// Fast path first: most chat is not a command.
		if !strings.HasPrefix(m.Message, r.rules(m.Channel).prefix) || m.User == "" {
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
		r.route(ctx, source, m, arrived)
	}
}

// surelyNotCommand reports, without decoding, that body is a chat line
// that starts with none of the prefixes in use.
func (r *Router) surelyNotCommand(body []byte) bool {
	for _, p := range r.prefixes {
		if !notCommand(body, p) {
			return false
		}
	}
	return true
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
func parse(line, prefix string) (word, text string, args []string) {
	rest := strings.TrimPrefix(line, prefix)
	i := strings.IndexFunc(rest, unicode.IsSpace)
	if i < 0 {
		return strings.ToLower(rest), "", []string{}
	}
	text = strings.TrimSpace(rest[i:])
	return strings.ToLower(rest[:i]), text, strings.Fields(text)
}

func (r *Router) route(ctx context.Context, source string, m protocol.ChatMessage, arrived time.Time) {
	rules := r.rules(m.Channel)
	word, text, args := parse(m.Message, rules.prefix)
	if word == "" || strings.HasPrefix(word, rules.prefix) {
		return // "!" alone, or "!!!" excitement
	}
	to := target{user: m.User, channel: m.Channel, source: source}
	p := r.admit(ctx, to, arrived)
	if p == nil {
		return
	}
	p.prefix = rules.prefix
	rank := m.Rank
	if r.admins[strings.ToLower(m.User)] && rank < protocol.RankAdmin {
		rank = protocol.RankAdmin
	}
	req := plugin.Request{Args: args, Text: text, User: m.User, Channel: m.Channel, Rank: rank, Source: source}
	if t, ok := r.lookup(word); ok {
		if rules.disabled[strings.ToLower(t.plugin)] {
			r.unknown(p, word) // as if the plugin were not there
			return
		}
		r.dispatch(p, t, req)
		return
	}
	sweep := r.rediscover(ctx)
	if sweep == nil {
		r.unknown(p, word)
		return
	}
	// Wait for the sweep off the subscription's goroutine: other lines go
	// on being routed meanwhile; only this user's later answers wait.
	go func() {
		t := r.clock.NewTimer(p.deadline.Sub(r.clock.Now()))
		defer t.Stop()
		select {
		case <-sweep:
		case <-t.C():
		}
		if t, ok := r.lookup(word); ok && !rules.disabled[strings.ToLower(t.plugin)] {
			r.dispatch(p, t, req)
			return
		}
		r.unknown(p, word)
	}()
}

// route is where a command goes.
type route struct {
	plugin string
	cmd    plugin.Command
	static bool // from Config.Routes: the plugin may never answer
}

// lookup finds the plugin answering word: announced plugins first, then
// the static routes.
func (r *Router) lookup(word string) (route, bool) {
	if name, cmd, ok := r.dir.Lookup(word); ok {
		return route{plugin: name, cmd: cmd}, true
	}
	if name, ok := r.routes[word]; ok {
		return route{plugin: name, cmd: plugin.Command{Name: word}, static: true}, true
	}
	return route{}, false
}

// admit takes a line's place in its user's queue, or refuses it when too
// many commands wait (answering with a notice at most once per user per
// HintEvery) and returns nil.
func (r *Router) admit(ctx context.Context, to target, arrived time.Time) *pending {
	key := userKey{strings.ToLower(to.user), to.channel}
	r.qmu.Lock()
	why := ""
	if r.open >= r.cfg.MaxConcurrent {
		why = "overload"
	} else if n := r.openFor(key); n >= r.cfg.MaxPerUser {
		why = "user"
	}
	var p *pending
	if why == "" {
		r.open++
		p = &pending{ctx: ctx, to: to, key: key, arrived: arrived, deadline: arrived.Add(r.cfg.Timeout)}
		r.queues[key] = append(r.queues[key], p)
		r.wg.Add(1)
		r.deadlines = append(r.deadlines, p)
		if len(r.deadlines) == 1 {
			r.expiry.Reset(p.deadline.Sub(r.clock.Now()))
		}
	}
	r.qmu.Unlock()
	if p != nil {
		return p
	}
	r.refused.Add(1)
	r.observe(Outcome{Channel: to.channel, Result: ResultRefusedOverload, Latency: r.clock.Now().Sub(arrived)})
	if !r.once(r.busy, key.user) {
		return nil
	}
	text := "⏳ I'm busy: too many commands are waiting. Try again in a moment."
	if why == "user" {
		text = fmt.Sprintf("⏳ %s, your earlier commands are still running. Try again in a moment.", to.user)
	}
	r.log.Warn("command refused: too many waiting", "user", to.user, "channel", to.channel, "why", why,
		"max_concurrent", r.cfg.MaxConcurrent, "max_per_user", r.cfg.MaxPerUser, "refused", r.refused.Load())
	// Sent at once, not behind the user's waiting answers: it is about now.
	r.send(&pending{ctx: ctx, to: to, text: text})
	return nil
}

// openFor counts key's commands still waiting; the caller holds qmu.
func (r *Router) openFor(key userKey) int {
	n := 0
	for _, p := range r.queues[key] {
		if !p.ready {
			n++
		}
	}
	return n
}

// once reports whether user may get a rate-limited notice now (one per
// HintEvery), recording it if so.
func (r *Router) once(last map[string]time.Time, user string) bool {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := last[user]; ok && now.Sub(t) < r.cfg.HintEvery {
		return false
	}
	last[user] = now
	if len(last) > 10000 {
		for u, t := range last {
			if now.Sub(t) >= r.cfg.HintEvery {
				delete(last, u)
			}
		}
	}
	return true
}

// dispatch checks rank and cooldown and sends the command to its plugin.
func (r *Router) dispatch(p *pending, t route, req plugin.Request) {
	name, cmd := t.plugin, t.cmd
	p.name, p.cmd = name, cmd.Name
	if req.Rank < cmd.MinRank {
		p.result = ResultRefusedRank
		r.complete(p, fmt.Sprintf("⛔ %s%s needs rank %s or higher.", p.prefix, cmd.Name, protocol.RankName(cmd.MinRank)))
		return
	}
	if cmd.Cooldown > 0 {
		key := cooldownKey{p.key.user, name + "/" + cmd.Name}
		if msg, wait := r.checkCooldown(key, req.User, cmd.Cooldown); wait {
			p.result = ResultRefusedCooldown
			r.complete(p, msg)
			return
		}
		p.cool = &key
	}
	r.commands.Add(1)
	req.Command = cmd.Name
	p.static = t.static
	r.ask(p, req)
}

// ask sends the command to the plugin; the answer arrives in onReply, or
// the timer fires first.
func (r *Router) ask(p *pending, req plugin.Request) {
	body, err := encodeRequest(req)
	if err != nil {
		r.log.Error("could not encode command", "err", err)
		r.settle(p, ResultError, fmt.Sprintf("⚠️ Something went wrong in %s%s.", p.prefix, p.cmd), true)
		return
	}
	ctx := p.ctx
	p.corr = eventbus.CorrelationID(ctx)
	if p.corr == "" { // a chat line without an envelope: give the command an id to check answers by
		p.corr = eventbus.NewCorrelationID()
		ctx = eventbus.WithCorrelationID(ctx, p.corr)
		p.ctx = ctx
	}
	// 128 random bits: unguessable, so only the plugin that got the
	// request can answer it.
	token := rand.Text()
	r.qmu.Lock()
	p.token = token
	if p.settled || !r.clock.Now().Before(p.deadline) {
		// Its time ran out while the router looked for its plugin.
		r.qmu.Unlock()
		r.timeout(p)
		return
	}
	r.waiting[p.token] = p
	r.qmu.Unlock()
	if err := r.bus.PublishRequest(ctx, r.commandSubject(p.name), r.inbox+"."+p.token, body); err != nil {
		r.log.Error("could not send command", "plugin", p.name, "err", err)
		r.settle(p, ResultNotRunning, fmt.Sprintf("⚠️ %s could not be reached.", p.name), true)
	}
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

// expireLoop times out the commands whose deadline has passed, sleeping
// until the oldest one's, until stop is closed.
func (r *Router) expireLoop(t plugin.Timer, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		now := r.clock.Now()
		var due []*pending
		r.qmu.Lock()
		for len(r.deadlines) > 0 {
			p := r.deadlines[0]
			if p.settled || p.ready {
				r.deadlines[0], r.deadlines = nil, r.deadlines[1:]
				continue
			}
			if p.deadline.After(now) {
				t.Reset(p.deadline.Sub(now)) // under qmu, as complete stops it
				break
			}
			r.deadlines[0], r.deadlines = nil, r.deadlines[1:]
			if p.token != "" { // one still looking for its plugin times out in ask
				due = append(due, p)
			}
		}
		r.qmu.Unlock()
		for _, p := range due {
			r.timeout(p)
		}
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func (r *Router) timeout(p *pending) {
	if p.static { // a fire-and-forget plugin speaks for itself
		r.settle(p, ResultSilent, "", false)
		return
	}
	r.log.Warn("plugin did not answer in time", "plugin", p.name, "command", p.cmd, "timeout", r.cfg.Timeout)
	r.settle(p, ResultTimeout, fmt.Sprintf("⏱️ %s did not answer in time. Try again later.", p.name), true)
}

func (r *Router) onReply(m *nats.Msg) {
	token := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	r.qmu.Lock()
	p := r.waiting[token]
	r.qmu.Unlock()
	if p == nil {
		return // answered already, timed out, or never asked
	}
	if c := m.Header[eventbus.HeaderCorrelationID]; len(c) > 0 && c[0] != "" && c[0] != p.corr {
		// The reply subject is the command's own, so this is its plugin
		// answering with another command's id (docs/PROTOCOL.md asks it
		// to keep the request's).
		r.log.Warn("plugin answer dropped: not the waiting command's correlation id", "plugin", p.name, "command", p.cmd, "want", p.corr, "got", c[0])
		return
	}
	if r.clock.Now().After(p.deadline) {
		r.timeout(p) // the timer is late; the answer is too
		return
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		r.log.Warn("plugin not running", "plugin", p.name, "command", p.cmd)
		r.settle(p, ResultNotRunning, fmt.Sprintf("⚠️ %s is not available right now.", p.name), true)
		return
	}
	text, failed := r.answer(p, m)
	result := ResultAnswered
	if failed {
		result = ResultError
	}
	r.settle(p, result, text, failed)
}

// Rediscovery: an unknown command may belong to a plugin whose
// announcement this router missed (it crossed a cluster before the
// router's interest did). Ask NATS again, at most every rediscoverEvery.
const (
	rediscoverEvery = 5 * time.Second
	rediscoverWait  = 300 * time.Millisecond
)

// rediscover returns a channel closed when a sweep for plugins ends: the
// running one, or a new one if none ran lately. It returns nil when no
// sweep is due. It never blocks.
func (r *Router) rediscover(ctx context.Context) <-chan struct{} {
	r.smu.Lock()
	defer r.smu.Unlock()
	if r.sweeping != nil {
		return r.sweeping
	}
	if !r.lastSweep.IsZero() && time.Since(r.lastSweep) < rediscoverEvery {
		return nil
	}
	r.lastSweep = time.Now()
	done := make(chan struct{})
	r.sweeping = done
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.dir.Refresh(context.WithoutCancel(ctx), rediscoverWait); err != nil {
			r.log.Debug("plugin rediscovery failed", "err", err)
		}
		r.smu.Lock()
		r.sweeping = nil
		r.smu.Unlock()
		close(done)
	}()
	return done
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
		return r.clip(p, resp.Result), false
	case strings.HasPrefix(resp.Error, "❌") || strings.HasPrefix(resp.Error, "⚠") || strings.HasPrefix(resp.Error, "⛔"):
		return r.clip(p, resp.Error), true
	case resp.Error == "internal error":
		return fmt.Sprintf("⚠️ Something went wrong in %s%s.", p.prefix, p.cmd), true
	}
	return r.clip(p, "❌ "+resp.Error), true
}

// clip cuts an answer longer than MaxAnswer characters.
func (r *Router) clip(p *pending, text string) string {
	if len(text) <= r.cfg.MaxAnswer || utf8.RuneCountInString(text) <= r.cfg.MaxAnswer {
		return text
	}
	r.log.Warn("plugin answer cut", "plugin", p.name, "command", p.cmd, "bytes", len(text), "max_answer", r.cfg.MaxAnswer)
	return plugin.Clip(text, r.cfg.MaxAnswer-1)
}

// settle records p's answer and its Outcome.Result, once. A failed
// command does not count against the user's cooldown.
func (r *Router) settle(p *pending, result, text string, failed bool) {
	r.qmu.Lock()
	if p.settled {
		r.qmu.Unlock()
		return
	}
	p.settled = true
	p.result = result
	delete(r.waiting, p.token)
	r.qmu.Unlock()
	if failed && p.cool != nil {
		r.mu.Lock()
		delete(r.cooldown, *p.cool)
		r.mu.Unlock()
	}
	r.complete(p, text)
}

// complete marks p answered and sends the ready answers at the head of
// its user's queue. Sending under the lock keeps the order; a publish only
// buffers, so the lock is held briefly.
func (r *Router) complete(p *pending, text string) {
	var done []Outcome
	r.qmu.Lock()
	if p.ready {
		r.qmu.Unlock()
		return
	}
	p.text, p.ready = text, true
	r.open--
	// Answered commands at the head need no deadline any more; with none
	// left the timer stops now (a test's clock counts it).
	for len(r.deadlines) > 0 && r.deadlines[0].ready {
		r.deadlines[0], r.deadlines = nil, r.deadlines[1:]
		if len(r.deadlines) == 0 {
			r.expiry.Stop()
		}
	}
	q := r.queues[p.key]
	n := 0
	for ; n < len(q) && q[n].ready; n++ {
		r.send(q[n])
		if q[n].result != "" && r.cfg.Observer != nil {
			done = append(done, q[n].outcome(r.clock.Now()))
		}
		q[n] = nil
		r.wg.Done()
	}
	switch {
	case n == len(q):
		delete(r.queues, p.key)
	case n > 0:
		r.queues[p.key] = q[n:]
	}
	r.qmu.Unlock()
	for _, o := range done {
		r.observe(o)
	}
}

// outcome is what the Observer is told of p, now that its answer is sent.
func (p *pending) outcome(now time.Time) Outcome {
	o := Outcome{Channel: p.to.channel, Result: p.result, Latency: now.Sub(p.arrived)}
	if p.result != ResultUnknown {
		o.Plugin, o.Command = p.name, p.cmd
	}
	return o
}

func (r *Router) observe(o Outcome) {
	if r.cfg.Observer != nil {
		r.cfg.Observer.CommandDone(o)
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

// unknown answers a command no plugin answers. In chat the hint is limited
// to one per user per HintEvery (a typo-happy user must not flood the
// channel); a PM always gets it, since nothing else would come back.
func (r *Router) unknown(p *pending, word string) {
	p.result = ResultUnknown
	if r.cfg.UnknownCommand == UnknownIgnore ||
		(p.to.source != plugin.SourcePM && !r.once(r.hinted, p.key.user)) {
		r.complete(p, "")
		return
	}
	text := r.cfg.UnknownCommand
	if text == UnknownHint {
		text = fmt.Sprintf("❓ Unknown command %s%s. Try %shelp.", p.prefix, plugin.Clip(word, 32), p.prefix)
	} else {
		text = strings.ReplaceAll(text, "{command}", plugin.Clip(word, 32))
	}
	r.complete(p, text)
}

// checkCooldown records a use and reports whether the user must wait, with
// the message to show (only the first refusal in a window gets one).
func (r *Router) checkCooldown(key cooldownKey, user string, d time.Duration) (string, bool) {
	now := r.clock.Now()
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
