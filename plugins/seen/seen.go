package seen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/batch"
	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/internal/handled"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "seen"

// Defaults for Config.
const (
	// DefaultCollection is the database collection the plugin keeps users in.
	DefaultCollection = "seen"
	// DefaultFlushInterval is how often sightings kept in memory are
	// written to the database.
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxPending is how many users with unwritten sightings start a
	// flush before the interval is up.
	DefaultMaxPending = 1000
)

// Config configures the plugin. The JSON fields may also come from the
// plugin's section of the bot config; they override the constructor's.
type Config struct {
	// Collection is the database collection; default DefaultCollection.
	Collection string `json:"collection,omitempty"`
	// FlushInterval is how often sightings kept in memory are written;
	// default DefaultFlushInterval. A crash loses at most this much.
	FlushInterval plugin.Duration `json:"flush_interval,omitempty"`
	// MaxPending users with unwritten sightings start a flush at once;
	// default DefaultMaxPending.
	MaxPending int `json:"max_pending,omitempty"`
	// Now returns the current time; nil is the Host's clock (Host.Clock),
	// which roseytest.Clock moves by hand in tests.
	Now func() time.Time `json:"-"`
}

// Plugin is the seen plugin.
type Plugin struct {
	cfg Config

	mu  sync.Mutex
	srv *server // while started
}

// New returns a seen plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func command() plugin.Command {
	return plugin.Command{
		Name:        "seen",
		Usage:       "<user>",
		Description: "Tells when a user was last here and what they last said",
		Aliases:     []string{"lastseen"},
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Remembers when users were last here and what they said",
		Commands:    []plugin.Command{command()},
	}
}

// record is one user's document, under the lower-cased name.
type record struct {
	Name string `json:"name"`
	Here bool   `json:"here"`
	// Channel is where SeenAt happened ("" in documents from before it
	// was kept).
	Channel string `json:"channel,omitempty"`
	// SeenAt is the last join, leave or line, in ms since the epoch.
	SeenAt int64 `json:"seen_at"`
	// Event is what happened at SeenAt: chat, join or leave.
	Event   string `json:"event"`
	Message string `json:"message,omitempty"`
	SaidAt  int64  `json:"said_at,omitempty"`
}

// maxMessage bounds the stored last line (in runes).
const maxMessage = 200

// concurrency is how many commands are served at once.
const concurrency = 8

// Start registers !seen and begins watching the channel.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.Now == nil {
		cfg.Now = h.Clock().Now
	}
	if cfg.FlushInterval < 0 || cfg.MaxPending < 0 {
		return fmt.Errorf("seen: flush_interval and max_pending must not be negative")
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = plugin.Duration(DefaultFlushInterval)
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	s := &server{cfg: cfg, db: h.DB(), log: h.Logger(), pending: map[string]*sighting{}}
	s.flusher = batch.New(time.Duration(cfg.FlushInterval), h.Clock(), s.flush)
	h.Go(s.flusher.Run)
	p.mu.Lock()
	p.srv = s
	p.mu.Unlock()
	// One subscription for chat, joins and leaves keeps them in the order
	// they were published, so a quick join-leave is never stored backwards.
	sub, err := batch.Subscribe(h.Bus(), h.Logger(), "cytube.>", s.onEvent)
	if err != nil {
		return fmt.Errorf("seen: %w", err)
	}
	s.sub = sub
	// A !seen mostly waits (for its own line to be taken in, for the
	// database): side by side, one waiting holds up no other user's.
	// Everything the handler shares is behind s.mu or the flusher.
	if err := h.Concurrency(concurrency); err != nil {
		return err
	}
	h.Handle("seen", s.seen)
	return nil
}

// Stop writes every sighting still in memory.
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

type server struct {
	cfg Config
	db  *database.Client
	log *slog.Logger

	// The lines already taken in, so !seen can wait for the lines said
	// before it (its own line has the same correlation id).
	handled handled.IDs

	flusher *batch.Flusher
	sub     *batch.Subscription // nil until subscribed
	mu      sync.Mutex
	// pending holds, per lower-cased name, the latest sighting not yet
	// written; inflight those a flush is writing. A read (while no flush
	// is under way) lays pending over what is stored.
	pending, inflight map[string]*sighting
	// written holds the sightings the last flush stored that said
	// everything a document holds (a line was said): what is stored for
	// those users, so !seen needs no read. Dropped at the next flush and
	// when presence is reset.
	written map[string]*sighting
	stopped bool // the last flush is under way or done: write at once
	kicked  bool // a flush was asked for the pending sightings
}

// sighting is the latest of a user's events not yet written: the fields of
// its record to set.
type sighting struct {
	name    string
	channel string
	here    bool
	seenAt  int64
	event   string
	// message and saidAt are set when a line was said (saidAt != 0).
	message string
	saidAt  int64
}

// merge lays the newer sighting n over g.
func (g *sighting) merge(n *sighting) {
	msg, said := g.message, g.saidAt
	*g = *n
	if n.saidAt == 0 {
		g.message, g.saidAt = msg, said
	}
}

// fields returns what the sighting sets in the user's document.
func (g *sighting) fields() map[string]any {
	set := map[string]any{"name": g.name, "channel": g.channel, "here": g.here, "seen_at": g.seenAt, "event": g.event}
	if g.saidAt != 0 {
		set["message"], set["said_at"] = g.message, g.saidAt
	}
	return set
}

// whole reports whether the sighting sets every field of a record: laid
// over any stored document, it leaves nothing of it.
func (g *sighting) whole() bool { return g.saidAt != 0 }

// over lays the sighting over r.
func (g *sighting) over(r *record) {
	r.Name, r.Channel, r.Here, r.SeenAt, r.Event = g.name, g.channel, g.here, g.seenAt, g.event
	if g.saidAt != 0 {
		r.Message, r.SaidAt = g.message, g.saidAt
	}
}

// flush writes the pending sightings, one upsert per user, and keeps those
// that failed for the next flush (under newer changes).
func (s *server) flush(ctx context.Context) {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	s.inflight, s.pending, s.kicked = s.pending, map[string]*sighting{}, false
	batchOf := make([]string, 0, len(s.inflight))
	for k := range s.inflight {
		batchOf = append(batchOf, k)
	}
	s.mu.Unlock()
	failed := batch.Parallel(ctx, batchOf, 8, func(ctx context.Context, k string) error {
		s.mu.Lock()
		g := s.inflight[k]
		s.mu.Unlock()
		err := s.db.Upsert(ctx, s.cfg.Collection, database.StringID(k), database.Update{Set: g.fields()}, nil)
		if err != nil {
			s.log.Error("could not store a sighting", "user", g.name, "err", err)
		}
		return err
	})
	s.mu.Lock()
	for _, k := range failed {
		g := s.inflight[k]
		if newer := s.pending[k]; newer != nil {
			g.merge(newer)
		}
		s.pending[k] = g
		delete(s.inflight, k)
	}
	s.written = map[string]*sighting{}
	for k, g := range s.inflight {
		if g.whole() {
			s.written[k] = g
		}
	}
	s.inflight = nil
	s.mu.Unlock()
}

func (s *server) stop(ctx context.Context) error {
	errs := []error{s.flusher.Finish(ctx, func() {
		s.mu.Lock()
		s.stopped = true // events from now on (none once drained) are written at once
		s.mu.Unlock()
	}, s.sub)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.pending); n > 0 {
		errs = append(errs, fmt.Errorf("seen: %d sightings could not be stored", n))
	}
	return errors.Join(errs...)
}

func (s *server) onEvent(ctx context.Context, ev *eventbus.Event) {
	now := s.cfg.Now().UnixMilli()
	var g *sighting
	switch ev.Subject {
	case protocol.Chat:
		var m protocol.ChatMessage
		if err := chatevent.Decode(ev, &m); err != nil {
			s.log.Warn("malformed chat event", "err", err)
			return
		}
		defer s.handled.Mark(ev.CorrelationID)
		g = &sighting{name: m.User, channel: m.Channel, here: true, event: "chat", message: plugin.Clip(m.Message, maxMessage), saidAt: now}
	case protocol.UserJoin:
		var j protocol.UserJoinEvent
		if err := ev.Decode(&j); err != nil {
			s.log.Warn("malformed join event", "err", err)
			return
		}
		g = &sighting{name: j.User, channel: j.Channel, here: true, event: "join"}
	case protocol.UserLeave:
		var l protocol.UserLeaveEvent
		if err := ev.Decode(&l); err != nil {
			s.log.Warn("malformed leave event", "err", err)
			return
		}
		g = &sighting{name: l.User, channel: l.Channel, event: "leave"}
	case protocol.Connection:
		var c protocol.ConnectionEvent
		if err := ev.Decode(&c); err == nil && c.State == protocol.StateConnected {
			// Write what is pending first, so no earlier "here" lands
			// after the reset; events after this one wait for it.
			s.flusher.Quiet(func() {
				s.flush(ctx)
				s.mu.Lock()
				s.written = nil // no longer what is stored
				// What the flush could not write came before the reconnect
				// too: absent, as the reset makes the stored sightings.
				for _, g := range s.pending {
					if g.channel == "" || g.channel == c.Channel {
						g.here = false
					}
				}
				s.mu.Unlock()
				s.resetPresence(ctx, c.Channel)
			})
		}
		return
	default:
		return
	}
	g.name = strings.TrimSpace(g.name)
	if g.name == "" || utf8.RuneCountInString(g.name) > 64 {
		return
	}
	g.seenAt = now
	k := strings.ToLower(g.name)
	s.mu.Lock()
	if old := s.pending[k]; old != nil {
		old.merge(g)
	} else {
		s.pending[k] = g
	}
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

// resetPresence forgets who was here in channel: after a (re)connect
// CyTube sends a join for everyone present, and users who left meanwhile
// sent no leave. Users last seen in another channel keep their presence;
// documents that name no channel (older ones) are reset too.
func (s *server) resetPresence(ctx context.Context, channel string) {
	skip := 0
	for range 100 { // at most 100 000 users; each pass looks at up to 1000
		res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection, Filter: database.Filter{"here": true},
			Limit: database.MaxLimit, Offset: skip, NoTotal: true})
		if err != nil {
			s.log.Warn("could not reset presence", "err", err)
			return
		}
		for _, it := range res.Items {
			var r record
			if err := it.Decode(&r); err == nil && r.Channel != "" && r.Channel != channel {
				skip++ // still here, in another channel: it stays in the results
				continue
			}
			if err := s.db.Update(ctx, s.cfg.Collection, it.ID, database.Update{Set: map[string]any{"here": false}}, nil); err != nil {
				s.log.Warn("could not reset presence", "user", it.ID.String(), "err", err)
				return
			}
		}
		if len(res.Items) < database.MaxLimit {
			return
		}
	}
}

func (s *server) seen(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) != 1 {
		return "", plugin.Usage(command())
	}
	who := strings.TrimLeft(req.Args[0], "@")
	if who == "" || utf8.RuneCountInString(who) > 64 {
		return "", plugin.Usage(command())
	}
	if protocol.SameUser(who, req.User) {
		return fmt.Sprintf("👋 %s, you are right here!", req.User), nil
	}
	if req.Source == plugin.SourceChat {
		s.handled.Wait(ctx, eventbus.CorrelationID(ctx), 2*time.Second)
	}
	r, found, err := s.load(ctx, strings.ToLower(who))
	switch {
	case err != nil:
		return "", fmt.Errorf("seen: load %s: %w", who, err)
	case !found:
		return fmt.Sprintf("🤷 I have not seen %s.", who), nil
	}
	now := s.cfg.Now()
	var b strings.Builder
	switch {
	case r.Here && r.Channel != "" && r.Channel != req.Channel:
		fmt.Fprintf(&b, "👀 %s is in %s now.", r.Name, r.Channel)
	case r.Here:
		fmt.Fprintf(&b, "👀 %s is here now.", r.Name)
	default:
		fmt.Fprintf(&b, "👀 %s was last seen %s", r.Name, ago(now, r.SeenAt))
		if r.Channel != "" && r.Channel != req.Channel {
			fmt.Fprintf(&b, " in %s", r.Channel)
		}
		if r.Event == "leave" {
			b.WriteString(", leaving")
		}
		b.WriteString(".")
	}
	if r.SaidAt != 0 {
		fmt.Fprintf(&b, " Last said %s: \"%s\"", ago(now, r.SaidAt), r.Message)
	}
	return b.String(), nil
}

// load returns what is known of the user k: the stored document with the
// sightings not yet written laid over it. It reads while no flush is under
// way, so a sighting is either stored or still in memory. A user who spoke
// since the last flush, or in the sightings it wrote, needs no read.
func (s *server) load(ctx context.Context, k string) (r record, found bool, err error) {
	s.flusher.Quiet(func() {
		if s.fromMemory(k, &r) {
			found = true
			return
		}
		err = s.db.Get(ctx, s.cfg.Collection, database.StringID(k), &r)
		switch {
		case errors.Is(err, database.ErrNotFound):
			err = nil
		case err != nil:
			return
		default:
			found = true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if g := s.pending[k]; g != nil {
			g.over(&r)
			found = true
		}
	})
	return r, found, err
}

// fromMemory fills r from the sightings in memory when they say all that
// is stored of user k.
func (s *server) fromMemory(k string, r *record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, base := s.pending[k], s.written[k]
	if base == nil && (g == nil || !g.whole()) {
		return false
	}
	if base != nil {
		base.over(r)
	}
	if g != nil {
		g.over(r)
	}
	return true
}

// ago humanises the time since ms: "3h 12m ago", the two largest units.
func ago(now time.Time, ms int64) string {
	d := now.Sub(time.UnixMilli(ms))
	if d < time.Second {
		return "just now"
	}
	return plugin.FormatDuration(d) + " ago"
}
