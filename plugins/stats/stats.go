package stats

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/batch"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/internal/handled"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/playlist"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "stats"

// Defaults for Config.
const (
	// DefaultCollection is the database collection of the counts.
	DefaultCollection = "stats"
	// DefaultFlushInterval is how often the counts kept in memory are
	// written to the database.
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxPending is how many users with unwritten counts start a
	// flush before the interval is up.
	DefaultMaxPending = 1000
	// DefaultPrefix starts a command, as the router's default.
	DefaultPrefix = "!"
	// DefaultTop is how many users !top lists; MaxTop is the most allowed.
	DefaultTop = 5
	MaxTop     = 20
)

// maxName bounds a user name (CyTube's are at most 20 characters).
const maxName = 64

// Config configures the plugin. The JSON fields may also come from the
// plugin's section of the bot config; they override the constructor's.
type Config struct {
	// Collection is the database collection; default DefaultCollection.
	Collection string `json:"collection,omitempty"`
	// FlushInterval is how often counts kept in memory are written;
	// default DefaultFlushInterval. A crash loses at most this much.
	FlushInterval plugin.Duration `json:"flush_interval,omitempty"`
	// MaxPending users with unwritten counts start a flush at once;
	// default DefaultMaxPending.
	MaxPending int `json:"max_pending,omitempty"`
	// Prefix starts a command: a line that starts with it (and a word)
	// counts as a command used. Default "!"; set it to the router's.
	Prefix string `json:"prefix,omitempty"`
	// Top is how many users !top lists; default DefaultTop, at most MaxTop.
	Top int `json:"top,omitempty"`
	// Channels sets the prefix of one channel (the router's channel
	// prefix), by channel name.
	Channels map[string]ChannelConfig `json:"channels,omitempty"`
}

// ChannelConfig overrides Config in one channel.
type ChannelConfig struct {
	Prefix string `json:"prefix,omitempty"`
}

func (c Config) prefix(channel string) string {
	if p := c.Channels[channel].Prefix; p != "" {
		return p
	}
	return c.Prefix
}

// Plugin is the stats plugin.
type Plugin struct {
	cfg Config

	mu  sync.Mutex
	srv *server // while started
}

// New returns a stats plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func statsCommand() plugin.Command {
	return plugin.Command{
		Name:        "stats",
		Usage:       "[user]",
		Description: "Shows what a user (or you) did in this channel: lines, time here, commands, items queued",
	}
}

func topCommand() plugin.Command {
	return plugin.Command{
		Name:        "top",
		Usage:       "chatters|queuers",
		Description: "Lists who said the most lines, or queued the most items, in this channel",
		Cooldown:    3 * time.Second,
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Counts lines, time present, commands and queued items per user and channel",
		Commands:    []plugin.Command{statsCommand(), topCommand()},
	}
}

// record is one user's document in one channel, under "<channel>/<user>"
// with the user's name lower-cased. Times are ms since the epoch.
type record struct {
	Channel   string `json:"channel"`
	Name      string `json:"name"`
	Lines     int64  `json:"lines"`
	Commands  int64  `json:"commands"`
	Queued    int64  `json:"queued"`
	PresentMS int64  `json:"present_ms"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
}

// concurrency is how many commands are served at once.
const concurrency = 8

// Start checks the config, registers !stats and !top and begins counting.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if err := cfg.fill(); err != nil {
		return err
	}
	s := &server{cfg: cfg, db: h.DB(), bus: h.Bus(), log: h.Logger(), clock: h.Clock(),
		pending: map[key]*delta{}, here: map[key]time.Time{}, bots: map[string]string{}}
	s.flusher = batch.New(time.Duration(cfg.FlushInterval), h.Clock(), s.flush)
	h.Go(s.flusher.Run)
	p.mu.Lock()
	p.srv = s
	p.mu.Unlock()
	// One subscription keeps chat, joins, leaves and the playlist in the
	// order they were published.
	sub, err := batch.Subscribe(h.Bus(), h.Logger(), "cytube.>", s.onEvent)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	s.sub = sub
	// Items the playlist plugin queued for someone: CyTube names the bot.
	asked, err := batch.Subscribe(h.Bus(), h.Logger(), playlist.QueuedSubject, s.onEvent)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	s.asked = asked
	// !stats and !top mostly wait (for their own line to be counted, for
	// the database): side by side, one waiting holds up no other user's.
	// Everything the handlers share is behind s.mu or the flusher.
	if err := h.Concurrency(concurrency); err != nil {
		return err
	}
	h.Handle("stats", s.stats)
	h.Handle("top", s.top)
	return nil
}

// fill checks c and puts in the defaults.
func (c *Config) fill() error {
	switch {
	case c.FlushInterval < 0:
		return fmt.Errorf("stats: flush_interval: %s must not be negative", time.Duration(c.FlushInterval))
	case c.MaxPending < 0:
		return fmt.Errorf("stats: max_pending: %d must not be negative", c.MaxPending)
	case c.Top < 0 || c.Top > MaxTop:
		return fmt.Errorf("stats: top: %d is not between 1 and %d", c.Top, MaxTop)
	case c.Prefix != "" && !validPrefix(c.Prefix):
		return fmt.Errorf("stats: prefix: %q must be 1-8 characters without spaces", c.Prefix)
	}
	for name, ch := range c.Channels {
		if ch.Prefix != "" && !validPrefix(ch.Prefix) {
			return fmt.Errorf("stats: prefix: %q must be 1-8 characters without spaces (in channels.%s)", ch.Prefix, name)
		}
	}
	if c.Collection == "" {
		c.Collection = DefaultCollection
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = plugin.Duration(DefaultFlushInterval)
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.Top == 0 {
		c.Top = DefaultTop
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	return nil
}

// validPrefix is the router's rule for a command prefix.
func validPrefix(p string) bool {
	return utf8.RuneCountInString(p) <= 8 && !strings.ContainsFunc(p, unicode.IsSpace)
}

// Stop writes every count still in memory, the time of users still here
// included.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	s := p.srv
	p.srv = nil
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.stop(ctx)
}

// key names a user in a channel; user is lower-cased.
type key struct{ channel, user string }

func (k key) id() database.ID { return database.StringID(k.channel + "/" + k.user) }

// delta is what a user did since the last flush.
type delta struct {
	name                               string
	lines, commands, queued, presentMS int64
	first, last                        int64 // ms; 0 when not seen in this delta
}

func (d *delta) add(o *delta) {
	if o.name != "" {
		d.name = o.name
	}
	d.lines += o.lines
	d.commands += o.commands
	d.queued += o.queued
	d.presentMS += o.presentMS
	if o.first != 0 && (d.first == 0 || o.first < d.first) {
		d.first = o.first
	}
	d.last = max(d.last, o.last)
}

type server struct {
	cfg   Config
	db    *database.Client
	bus   *eventbus.Bus
	log   *slog.Logger
	clock plugin.Clock

	// The lines already counted, so !stats can wait for the lines said
	// before it (its own line has the same correlation id).
	handled handled.IDs
	flusher *batch.Flusher
	sub     *batch.Subscription // nil until subscribed
	asked   *batch.Subscription // playlist.QueuedSubject; nil until subscribed

	mu      sync.Mutex
	pending map[key]*delta
	// here holds the users present, with the time up to which their
	// presence has been counted.
	here map[key]time.Time
	// bots holds the bot's name in each channel, from cytube.connection.
	bots    map[string]string
	stopped bool // the last flush is under way or done: write at once
	kicked  bool // a flush was asked for the pending users
}

// touch returns the pending delta of the user, seen at now.
func (s *server) touch(k key, name string, now int64) *delta {
	d := s.pending[k]
	if d == nil {
		d = &delta{first: now}
		s.pending[k] = d
	}
	if name != "" {
		d.name = name
	}
	d.last = now
	return d
}

func (s *server) onEvent(ctx context.Context, ev *eventbus.Event) {
	// Decode first, then change the counts under the lock.
	var apply func(now time.Time, ms int64)
	switch ev.Subject {
	case protocol.Chat, protocol.PM:
		var m protocol.ChatMessage
		if err := chatevent.Decode(ev, &m); err != nil {
			s.log.Warn("malformed chat event", "subject", ev.Subject, "err", err)
			return
		}
		defer s.handled.Mark(ev.CorrelationID)
		k, name, ok := userKey(m.Channel, m.User)
		if !ok {
			return
		}
		line, command := ev.Subject == protocol.Chat, isCommand(m.Message, s.cfg.prefix(m.Channel))
		apply = func(_ time.Time, ms int64) {
			d := s.touch(k, name, ms)
			if line {
				d.lines++
			}
			if command {
				d.commands++
			}
		}
	case protocol.UserJoin:
		var j protocol.UserJoinEvent
		if err := ev.Decode(&j); err != nil {
			s.log.Warn("malformed join event", "err", err)
			return
		}
		k, name, ok := userKey(j.Channel, j.User)
		if !ok {
			return
		}
		apply = func(now time.Time, ms int64) {
			s.touch(k, name, ms)
			if _, in := s.here[k]; !in {
				s.here[k] = now
			}
		}
	case protocol.UserLeave:
		var l protocol.UserLeaveEvent
		if err := ev.Decode(&l); err != nil {
			s.log.Warn("malformed leave event", "err", err)
			return
		}
		k, name, ok := userKey(l.Channel, l.User)
		if !ok {
			return
		}
		apply = func(now time.Time, ms int64) { s.leave(k, s.touch(k, name, ms), now) }
	case protocol.PlaylistQueued:
		var q protocol.PlaylistQueuedEvent
		if err := ev.Decode(&q); err != nil {
			s.log.Warn("malformed playlist event", "err", err)
			return
		}
		by := cmp.Or(q.QueuedBy, q.Item.QueuedBy)
		k, name, ok := userKey(q.Channel, by)
		if !ok {
			return
		}
		apply = func(_ time.Time, ms int64) {
			// The bot's own items (a plugin's !add queues through the
			// connector) are nobody's: the bot is no user to rank.
			if !protocol.SameUser(by, s.bots[q.Channel]) {
				s.touch(k, name, ms).queued++
			}
		}
	case playlist.QueuedSubject:
		var q playlist.QueuedEvent
		if err := ev.Decode(&q); err != nil {
			s.log.Warn("malformed playlist event", "subject", ev.Subject, "err", err)
			return
		}
		k, name, ok := userKey(q.Channel, q.User)
		if !ok {
			return
		}
		apply = func(_ time.Time, ms int64) { s.touch(k, name, ms).queued++ }
	case protocol.Connection:
		var c protocol.ConnectionEvent
		if err := ev.Decode(&c); err != nil {
			s.log.Warn("malformed connection event", "err", err)
			return
		}
		s.connection(ctx, c)
		apply = func(time.Time, int64) {}
	default:
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	apply(now, now.UnixMilli())
	stopped := s.stopped
	// Once per batch: more events before the flush takes the pending
	// users must not queue another flush.
	kick := !stopped && !s.kicked && len(s.pending) >= s.cfg.MaxPending
	s.kicked = s.kicked || kick
	s.mu.Unlock()
	switch {
	case stopped: // an event after the last flush
		s.flusher.Now(ctx)
	case kick:
		s.flusher.Kick()
	}
}

// connection follows the connector's state in a channel. While it is away
// nobody is seen there, so every session of the channel ends; once it is
// back, the users CyTube lists are present from now (the connector
// announces no join for those already there when it arrives).
func (s *server) connection(ctx context.Context, c protocol.ConnectionEvent) {
	if c.User != "" {
		s.mu.Lock()
		s.bots[c.Channel] = c.User
		s.mu.Unlock()
	}
	var present map[key]string
	if c.State == protocol.StateConnected {
		ctx, cancel := context.WithTimeout(ctx, chanwords.StateTimeout)
		users, err := client.New(s.bus, c.Channel).Users(ctx)
		cancel()
		if err != nil {
			s.log.Warn("could not list the users present", "channel", c.Channel, "err", err)
			return // sessions stay as they were; joins and leaves go on
		}
		present = map[key]string{}
		for _, u := range users {
			if k, name, ok := userKey(c.Channel, u.Name); ok && !protocol.SameUser(u.Name, c.User) {
				present[k] = name
			}
		}
	}
	now := s.clock.Now()
	ms := now.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.here {
		if _, still := present[k]; k.channel == c.Channel && !still {
			s.leave(k, s.touch(k, "", ms), now)
		}
	}
	for k, name := range present {
		if _, in := s.here[k]; !in {
			s.touch(k, name, ms)
			s.here[k] = now
		}
	}
}

// leave closes k's session, if open, at now; s.mu is held.
func (s *server) leave(k key, d *delta, now time.Time) {
	if since, in := s.here[k]; in {
		d.presentMS += max(now.Sub(since).Milliseconds(), 0)
		delete(s.here, k)
	}
}

// userKey checks a user name from an event and returns its key.
func userKey(channel, user string) (key, string, bool) {
	user = strings.TrimSpace(user)
	if user == "" || utf8.RuneCountInString(user) > maxName || utf8.RuneCountInString(channel) > maxName || strings.Contains(channel, "/") {
		return key{}, "", false
	}
	return key{channel: channel, user: strings.ToLower(user)}, user, true
}

// isCommand reports whether line would be taken as a command by a router
// with prefix: the prefix, then a word right after it ("!" alone, "! x"
// and "!!!" are not).
func isCommand(line, prefix string) bool {
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok || rest == "" || strings.HasPrefix(rest, prefix) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsSpace(r)
}

// flush credits the time of the users present up to now, then writes every
// pending delta: one update per user (two for a user new to the channel,
// whose first_seen is set then). Deltas that could not be written are kept
// for the next flush.
func (s *server) flush(ctx context.Context) {
	now := s.clock.Now()
	ms := now.UnixMilli()
	s.mu.Lock()
	for k, since := range s.here {
		if now.After(since) {
			d := s.touch(k, "", ms)
			d.presentMS += now.Sub(since).Milliseconds()
			s.here[k] = now
		}
	}
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	type item struct {
		k key
		d *delta
	}
	items := make([]item, 0, len(s.pending))
	for k, d := range s.pending {
		items = append(items, item{k, d})
	}
	s.pending, s.kicked = map[key]*delta{}, false
	s.mu.Unlock()
	failed := batch.Parallel(ctx, items, 8, func(ctx context.Context, it item) error {
		err := s.write(ctx, it.k, it.d)
		if err != nil {
			s.log.Error("could not store counts", "channel", it.k.channel, "user", it.k.user, "err", err)
		}
		return err
	})
	if len(failed) == 0 {
		return
	}
	s.mu.Lock()
	for _, it := range failed {
		if newer := s.pending[it.k]; newer != nil {
			it.d.add(newer)
		}
		s.pending[it.k] = it.d
	}
	s.mu.Unlock()
}

// write adds d to k's document.
func (s *server) write(ctx context.Context, k key, d *delta) error {
	inc := map[string]any{}
	for field, n := range map[string]int64{"lines": d.lines, "commands": d.commands, "queued": d.queued, "present_ms": d.presentMS} {
		if n != 0 {
			inc[field] = n
		}
	}
	set := map[string]any{"channel": k.channel, "last_seen": d.last}
	if d.name != "" {
		set["name"] = d.name
	}
	var after record
	if err := s.db.Upsert(ctx, s.cfg.Collection, k.id(), database.Update{Inc: inc, Set: set}, &after); err != nil {
		return err
	}
	if after.FirstSeen != 0 {
		return nil
	}
	// New to the channel (or its first write failed half-way).
	first := map[string]any{"first_seen": d.first}
	if after.Name == "" {
		first["name"] = k.user
	}
	return s.db.Update(ctx, s.cfg.Collection, k.id(), database.Update{Set: first}, nil)
}

func (s *server) stop(ctx context.Context) error {
	errs := []error{s.flusher.Finish(ctx, func() {
		s.mu.Lock()
		s.stopped = true // events from now on (none once drained) are written at once
		s.mu.Unlock()
	}, s.sub, s.asked)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.pending); n > 0 {
		errs = append(errs, fmt.Errorf("stats: the counts of %d users could not be stored", n))
	}
	return errors.Join(errs...)
}

// waitLine waits until the chat line or PM that said req has been counted
// (the subscription takes it in apart from the command): a user's
// !stats counts the command itself, a PM's too.
func (s *server) waitLine(ctx context.Context, req *plugin.Request) {
	if req.Source == plugin.SourceChat || req.Source == plugin.SourcePM {
		s.handled.Wait(ctx, eventbus.CorrelationID(ctx), 2*time.Second)
	}
}

// load returns k's counts: what is stored plus what is still in memory,
// the current session of a user present included.
func (s *server) load(ctx context.Context, k key) (r record, found bool, err error) {
	s.flusher.Quiet(func() {
		err = s.db.Get(ctx, s.cfg.Collection, k.id(), &r)
		switch {
		case errors.Is(err, database.ErrNotFound):
			err = nil
		case err != nil:
			return
		default:
			found = true
		}
		now := s.clock.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		d := &delta{}
		if p := s.pending[k]; p != nil {
			d.add(p)
		}
		if since, in := s.here[k]; in && now.After(since) {
			d.presentMS += now.Sub(since).Milliseconds()
			d.last = now.UnixMilli()
		}
		if *d == (delta{}) {
			return
		}
		found = true
		r.Lines += d.lines
		r.Commands += d.commands
		r.Queued += d.queued
		r.PresentMS += d.presentMS
		r.LastSeen = max(r.LastSeen, d.last)
		if r.FirstSeen == 0 {
			r.FirstSeen = d.first
		}
		if d.name != "" {
			r.Name = d.name
		}
	})
	return r, found, err
}

func (s *server) isHere(k key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, in := s.here[k]
	return in
}

func (s *server) stats(ctx context.Context, req *plugin.Request) (string, error) {
	who := req.User
	switch len(req.Args) {
	case 0:
	case 1:
		who = strings.TrimLeft(req.Args[0], "@")
	default:
		return "", plugin.Usage(statsCommand())
	}
	k, _, ok := userKey(req.Channel, who)
	if !ok {
		return "", plugin.Usage(statsCommand())
	}
	s.waitLine(ctx, req)
	r, found, err := s.load(ctx, k)
	if err != nil {
		return "", fmt.Errorf("stats: load %s: %w", who, err)
	}
	if !found {
		return fmt.Sprintf("🤷 I have no stats for %s here.", who), nil
	}
	now := s.clock.Now()
	name := r.Name
	if name == "" {
		name = who
	}
	var b strings.Builder
	fmt.Fprintf(&b, "📊 %s: %s, %s, %s", name, count(r.Lines, "line"), count(r.Commands, "command"), count(r.Queued, "item")+" queued")
	fmt.Fprintf(&b, ", here %s in all", plugin.FormatDuration(time.Duration(r.PresentMS)*time.Millisecond))
	if r.FirstSeen != 0 {
		fmt.Fprintf(&b, "; first seen %s", ago(now, r.FirstSeen))
	}
	if s.isHere(k) {
		b.WriteString(", here now.")
	} else if r.LastSeen != 0 {
		fmt.Fprintf(&b, ", last seen %s.", ago(now, r.LastSeen))
	} else {
		b.WriteString(".")
	}
	return b.String(), nil
}

func (s *server) top(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) != 1 {
		return "", plugin.Usage(topCommand())
	}
	var field, title string
	switch strings.ToLower(req.Args[0]) {
	case "chatters":
		field, title = "lines", "chatters"
	case "queuers":
		field, title = "queued", "queuers"
	default:
		return "", plugin.Usage(topCommand())
	}
	s.waitLine(ctx, req)
	// Write what is pending first: the database then sorts the whole.
	s.flusher.Now(ctx)
	res, err := s.db.Query(ctx, database.QueryRequest{
		Collection: s.cfg.Collection,
		Filter:     database.Filter{"channel": req.Channel, field: map[string]any{"$gt": 0}},
		Sort:       []string{"-" + field, "name"},
		Limit:      s.cfg.Top,
		NoTotal:    true,
	})
	if err != nil {
		return "", fmt.Errorf("stats: top %s: %w", field, err)
	}
	if len(res.Items) == 0 {
		return fmt.Sprintf("🏆 Nobody has %s here yet.", map[string]string{"lines": "said anything", "queued": "queued anything"}[field]), nil
	}
	parts := make([]string, 0, len(res.Items))
	for i, it := range res.Items {
		var r record
		if err := it.Decode(&r); err != nil {
			return "", fmt.Errorf("stats: top %s: %w", field, err)
		}
		n := r.Lines
		if field == "queued" {
			n = r.Queued
		}
		parts = append(parts, fmt.Sprintf("%d. %s (%s)", i+1, r.Name, thousands(n)))
	}
	return fmt.Sprintf("🏆 Top %s: %s", title, strings.Join(parts, ", ")), nil
}

// count writes n with its noun: "1 line", "1,234 lines".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var parts []string
	for len(s) > 3 {
		parts = append(parts, s[len(s)-3:])
		s = s[:len(s)-3]
	}
	parts = append(parts, s)
	slices.Reverse(parts)
	out := strings.Join(parts, ",")
	if neg {
		out = "-" + out
	}
	return out
}

// ago humanises the time since ms: "3h 12m ago".
func ago(now time.Time, ms int64) string {
	d := now.Sub(time.UnixMilli(ms))
	if d < time.Second {
		return "just now"
	}
	return plugin.FormatDuration(d) + " ago"
}
