package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

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
	if c.Prefix != "" && (strings.TrimSpace(c.Prefix) != c.Prefix || utf8.RuneCountInString(c.Prefix) > 8) {
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
	// gate keeps Stop from closing out while a handler may still send on it
	// (a drained subscription can deliver after Unsubscribe returns).
	gate   sync.RWMutex
	closed bool
	out    chan *pending
	sem    chan struct{}
	wg     sync.WaitGroup // workers
	emit   sync.WaitGroup // the emitter

	mu       sync.Mutex
	cooldown map[cooldownKey]*cooldownEntry
	hinted   map[string]time.Time

	commands atomic.Uint64
}

type cooldownKey struct{ user, command string }

type cooldownEntry struct {
	until    time.Time
	notified bool
}

// pending is one command's answer, filled in by a worker and sent by the
// emitter in arrival order.
type pending struct {
	ctx  context.Context
	done chan struct{}
	to   target
	text string
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
	r.out = make(chan *pending, 4096)
	r.sem = make(chan struct{}, r.cfg.MaxConcurrent)
	r.emit.Add(1)
	go r.emitter()
	for subject, h := range map[string]eventbus.Handler{
		protocol.Chat:       r.onLine(plugin.SourceChat),
		protocol.PM:         r.onLine(plugin.SourcePM),
		protocol.Connection: r.onConnection,
	} {
		sub, err := r.bus.Subscribe(subject, h)
		if err != nil {
			_ = r.Stop(ctx)
			return err
		}
		r.subs = append(r.subs, sub)
	}
	return nil
}

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
	if r.out != nil {
		done := make(chan struct{})
		go func() {
			r.wg.Wait()
			close(r.out)
			r.emit.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("router: stop: %w", ctx.Err()))
		}
		r.out = nil
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
		var m protocol.ChatMessage
		if err := ev.Decode(&m); err != nil {
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
	static := false
	if !known {
		if name, static = r.routes[word]; !static {
			r.unknown(ctx, to, word)
			return
		}
		cmd = plugin.Command{Name: word}
	}
	if rank < cmd.MinRank {
		r.answerNow(ctx, to, fmt.Sprintf("⛔ %s%s needs rank %s or higher.", r.cfg.Prefix, cmd.Name, rankName(cmd.MinRank)))
		return
	}
	if msg, wait := r.checkCooldown(m.User, name+"/"+cmd.Name, cmd.Cooldown); wait {
		if msg != "" {
			r.answerNow(ctx, to, msg)
		}
		return
	}
	r.commands.Add(1)
	req := plugin.Request{Command: cmd.Name, Args: args, Text: text, User: m.User, Channel: m.Channel, Rank: rank, Source: source}
	p := &pending{ctx: ctx, done: make(chan struct{}), to: to}
	r.out <- p
	r.sem <- struct{}{}
	r.wg.Add(1)
	go func() {
		defer func() { <-r.sem; r.wg.Done(); close(p.done) }()
		p.text = r.call(ctx, name, req, static)
	}()
}

// call asks the plugin and returns what to answer ("" for nothing).
func (r *Router) call(ctx context.Context, name string, req plugin.Request, static bool) string {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	ev, err := r.bus.Request(ctx, protocol.PluginCommand(name), req)
	switch {
	case err == nil:
	case errors.Is(err, eventbus.ErrTimeout) && static:
		return "" // a fire-and-forget plugin; it speaks for itself
	case errors.Is(err, eventbus.ErrTimeout):
		r.log.Warn("plugin did not answer in time", "plugin", name, "command", req.Command, "timeout", r.cfg.Timeout)
		return fmt.Sprintf("⏱️ %s did not answer in time. Try again later.", name)
	case errors.Is(err, eventbus.ErrNoResponders):
		r.log.Warn("plugin not running", "plugin", name, "command", req.Command)
		return fmt.Sprintf("⚠️ %s is not running right now.", name)
	default:
		r.log.Error("plugin request failed", "plugin", name, "err", err)
		return fmt.Sprintf("⚠️ %s could not be reached.", name)
	}
	var resp plugin.Response
	if err := ev.Decode(&resp); err != nil {
		r.log.Error("malformed plugin reply", "plugin", name, "err", err)
		return fmt.Sprintf("⚠️ %s answered something I could not read.", name)
	}
	if resp.Error != "" {
		if strings.HasPrefix(resp.Error, "❌") || strings.HasPrefix(resp.Error, "⚠") || strings.HasPrefix(resp.Error, "⛔") {
			return resp.Error
		}
		if resp.Error == "internal error" {
			return fmt.Sprintf("⚠️ Something went wrong in %s%s.", r.cfg.Prefix, req.Command)
		}
		return "❌ " + resp.Error
	}
	return resp.Result
}

// answerNow queues an answer that needs no plugin, keeping the order.
func (r *Router) answerNow(ctx context.Context, to target, text string) {
	p := &pending{ctx: ctx, done: make(chan struct{}), to: to, text: text}
	close(p.done)
	r.out <- p
}

func (r *Router) emitter() {
	defer r.emit.Done()
	for p := range r.out {
		<-p.done
		if p.text == "" {
			continue
		}
		var err error
		if p.to.source == plugin.SourcePM {
			err = r.bus.Publish(p.ctx, protocol.SendPM, protocol.SendPMRequest{To: p.to.user, Message: p.text, Channel: p.to.channel})
		} else {
			err = r.bus.Publish(p.ctx, protocol.SendChat, protocol.SendChatRequest{Message: p.text, Channel: p.to.channel})
		}
		if err != nil {
			r.log.Error("could not send answer", "err", err)
		}
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
		text = fmt.Sprintf("❓ Unknown command %s%s. Try %shelp.", r.cfg.Prefix, clip(word, 32), r.cfg.Prefix)
	} else {
		text = strings.ReplaceAll(text, "{command}", clip(word, 32))
	}
	r.answerNow(ctx, to, text)
}

// checkCooldown records a use and reports whether the user must wait, with
// the message to show (only the first refusal in a window gets one).
func (r *Router) checkCooldown(user, command string, d time.Duration) (string, bool) {
	if d <= 0 {
		return "", false
	}
	now := time.Now()
	key := cooldownKey{strings.ToLower(user), command}
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

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func rankName(r float64) string {
	switch {
	case r >= protocol.RankSiteAdmin:
		return "site admin"
	case r >= protocol.RankFounder:
		return "founder"
	case r >= protocol.RankOwner:
		return "owner"
	case r >= protocol.RankAdmin:
		return "admin"
	case r >= protocol.RankModerator:
		return "moderator"
	case r >= protocol.RankLeader:
		return "leader"
	case r >= protocol.RankUser:
		return "registered user"
	}
	return "guest"
}
