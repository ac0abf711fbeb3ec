package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Bounds of what a Gatherer keeps, whatever answers: a component that lies
// cannot make the bot's memory or its metrics' labels grow.
const (
	// MaxGatheredChannels caps the connectors a Gatherer keeps.
	MaxGatheredChannels = 64
	// MaxGatheredInstances caps the service instances it keeps.
	MaxGatheredInstances = 256
)

// channelName is what CyTube allows in a channel name; anything else in an
// answer is not a connector's.
var channelName = regexp.MustCompile(`^[\w-]{1,30}$`)

// GatherConfig configures a Gatherer.
type GatherConfig struct {
	// Conn is the NATS connection to ask on.
	Conn *nats.Conn
	// Prefix is the bot's subject prefix (eventbus.Bus.Prefix): only
	// components of this bot count, when several share a NATS server.
	Prefix string
	// Interval is how often every component is asked; default 1 second.
	Interval time.Duration
	// StaleAfter is how long a component may leave its statistics
	// unanswered before it counts as gone; default 5 Intervals. A gone
	// connector's channel stays listed as disconnected.
	StaleAfter time.Duration
	// Logger receives the gatherer's logs; nil is silent.
	Logger *slog.Logger
}

// Gatherer keeps the figures of the bot's components that serve them over
// NATS, wherever they run: every CyTube connector (the micro service
// protocol.ConnectorService, one instance per channel) and the database
// service (its endpoints' requests and processing time). Every Interval it
// asks $SRV.STATS.cytube-connector and $SRV.STATS.database, with the reply
// going to one inbox of its own, and takes answers whenever they arrive:
// it never waits for them, and a slow answer only comes in later. It is
// safe for concurrent use.
type Gatherer struct {
	cfg   GatherConfig
	log   *slog.Logger
	inbox string

	mu        sync.Mutex
	started   time.Time                // when Start ran
	connector map[string]connectorSeen // by service instance id
	channels  map[string]bool          // every channel ever seen, by name
	db        map[string]dbSeen        // by service instance id
	sub       *nats.Subscription
	cancel    context.CancelFunc
	done      chan struct{}
}

type connectorSeen struct {
	at    time.Time
	stats protocol.ConnectorStats
	// inBase and outBase are the instance's line counts when first seen:
	// the dashboard charts growth from there (ChatLines).
	inBase, outBase uint64
}

type dbSeen struct {
	at   time.Time
	ops  map[string]DatabaseOp
	base map[string]uint64 // requests by operation when first seen
}

// DatabaseOp is one database operation's figures, summed over the
// database service's instances and over the default and namespaced
// subjects.
type DatabaseOp struct {
	// Operation is get, set, update, delete, query, count or
	// schema-register.
	Operation string `json:"operation"`
	// Requests counts the requests the service took.
	Requests uint64 `json:"requests"`
	// Errors counts the requests that failed (every error answer of the
	// service but not_found).
	Errors uint64 `json:"errors"`
	// Time is the time spent serving them in all.
	Time time.Duration `json:"time_ns"`
	// Growth counts the requests since the Gatherer first saw each
	// instance of the service: what the dashboard charts per second, so
	// that a service that ran long before the monitor started does not
	// show as one burst. A Config.Database of your own sets it to Requests.
	Growth uint64 `json:"-"`
}

// NewGatherer returns a Gatherer; Start makes it ask.
func NewGatherer(cfg GatherConfig) (*Gatherer, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: gather: a NATS connection is required", ErrInvalidConfig)
	}
	if cfg.Interval < 0 || cfg.StaleAfter < 0 {
		return nil, fmt.Errorf("%w: gather: interval and stale_after must not be negative", ErrInvalidConfig)
	}
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.StaleAfter = cmp.Or(cfg.StaleAfter, 5*cfg.Interval)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gatherer{cfg: cfg, log: cfg.Logger.With("component", "monitor"),
		connector: map[string]connectorSeen{}, channels: map[string]bool{}, db: map[string]dbSeen{}}, nil
}

// ErrStarted means a Gatherer was started twice.
var ErrStarted = errors.New("monitor: already started")

// Start subscribes to the gatherer's inbox and asks every Interval until
// Stop. It asks once before returning, so the first answers come soon.
func (g *Gatherer) Start(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sub != nil || g.done != nil {
		return ErrStarted
	}
	g.inbox = g.cfg.Conn.NewRespInbox()
	sub, err := g.cfg.Conn.Subscribe(g.inbox, g.take)
	if err != nil {
		return fmt.Errorf("monitor: gather: %w", err)
	}
	g.sub = sub
	g.started = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan struct{})
	g.ask()
	go g.run(ctx)
	return nil
}

// Stop stops asking and taking answers.
func (g *Gatherer) Stop(ctx context.Context) error {
	g.mu.Lock()
	cancel, done, sub := g.cancel, g.done, g.sub
	g.cancel, g.sub = nil, nil
	g.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	var err error
	if sub != nil {
		if uerr := sub.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) && !errors.Is(uerr, nats.ErrBadSubscription) {
			err = fmt.Errorf("monitor: gather: %w", uerr)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

func (g *Gatherer) run(ctx context.Context) {
	defer close(g.done)
	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			g.mu.Lock()
			g.ask()
			g.mu.Unlock()
		}
	}
}

// ask sends the STATS requests; the caller holds mu.
func (g *Gatherer) ask() {
	for _, name := range []string{protocol.ConnectorService, database.ServiceName} {
		if err := g.cfg.Conn.PublishRequest("$SRV.STATS."+name, g.inbox, nil); err != nil {
			g.log.Debug("gather statistics", "service", name, "err", err)
		}
	}
}

// take keeps one $SRV.STATS answer, if it is a component of this bot.
func (g *Gatherer) take(m *nats.Msg) {
	var st micro.Stats
	if json.Unmarshal(m.Data, &st) != nil || st.Type != micro.StatsResponseType || st.ID == "" || len(st.ID) > 64 {
		return
	}
	now := time.Now()
	switch st.Name {
	case protocol.ConnectorService:
		g.takeConnector(now, st)
	case database.ServiceName:
		g.takeDatabase(now, st)
	}
}

func (g *Gatherer) takeConnector(now time.Time, st micro.Stats) {
	channel := st.Metadata[protocol.MetaChannel]
	if st.Metadata[protocol.MetaPrefix] != g.cfg.Prefix || !channelName.MatchString(channel) {
		return
	}
	for _, e := range st.Endpoints {
		if e == nil || e.Name != "connector" || e.Subject != g.cfg.Prefix+protocol.StateConnector {
			continue
		}
		var cs protocol.ConnectorStats
		if json.Unmarshal(e.Data, &cs) != nil || !strings.EqualFold(cs.Channel, channel) {
			return
		}
		cs.Channel = channel
		cs.Reason = plugin.Clip(cs.Reason, 200)
		g.mu.Lock()
		defer g.mu.Unlock()
		if _, known := g.connector[st.ID]; !known && (len(g.connector) >= MaxGatheredInstances ||
			!g.channels[channel] && len(g.channels) >= MaxGatheredChannels) {
			return
		}
		seen, known := g.connector[st.ID]
		if !known && !g.startedWithin(st) {
			seen.inBase, seen.outBase = cs.MessagesIn, cs.MessagesOut
		}
		seen.at, seen.stats = now, cs
		g.connector[st.ID] = seen
		g.channels[channel] = true
		return
	}
}

// dbOperation names an endpoint of the database service by its operation:
// "set" and "ns-set" (the namespaced subjects) are both "set".
func dbOperation(endpoint string) string { return strings.TrimPrefix(endpoint, "ns-") }

// dbSubjects are the database service's default subjects by operation:
// an answer whose endpoints do not serve them under this bot's prefix is
// another bot's.
var dbSubjects = map[string]string{
	"set": database.SubjectSet, "get": database.SubjectGet, "query": database.SubjectQuery,
	"delete": database.SubjectDelete, "update": database.SubjectUpdate, "count": database.SubjectCount,
	"schema-register": database.SubjectSchemaRegister,
}

func (g *Gatherer) takeDatabase(now time.Time, st micro.Stats) {
	ops := map[string]DatabaseOp{}
	mine := false
	for _, e := range st.Endpoints {
		if e == nil {
			continue
		}
		op := dbOperation(e.Name)
		subject, known := dbSubjects[op]
		if !known || e.NumRequests < 0 || e.NumErrors < 0 || e.ProcessingTime < 0 {
			continue
		}
		if e.Name == op && e.Subject == g.cfg.Prefix+subject {
			mine = true
		}
		o := ops[op]
		o.Operation = op
		o.Requests += uint64(e.NumRequests)
		o.Errors += uint64(e.NumErrors)
		o.Time += e.ProcessingTime
		ops[op] = o
	}
	if !mine {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seen, known := g.db[st.ID]
	if !known {
		if len(g.db) >= MaxGatheredInstances {
			return
		}
		seen.base = map[string]uint64{}
		if !g.startedWithin(st) {
			for op, o := range ops {
				seen.base[op] = o.Requests
			}
		}
	}
	seen.at, seen.ops = now, ops
	g.db[st.ID] = seen
}

// startedWithin tells whether a component instance started while the
// gatherer watches (or within an Interval before it, as a bot starts its
// parts): all of its counts are growth to chart. The counts of an
// instance that ran long before are charted from when it was first seen,
// not as one burst of its whole past. An instance that registers after
// the first asks, and has already counted a line when it first answers,
// would otherwise never show that line. The caller holds mu.
func (g *Gatherer) startedWithin(st micro.Stats) bool {
	return !st.Started.IsZero() && st.Started.After(g.started.Add(-g.cfg.Interval))
}

// Connectors returns every connector's latest figures, one per channel in
// channel order. A channel whose connector has not answered for
// StaleAfter is listed as disconnected, its counters as last seen.
func (g *Gatherer) Connectors() []protocol.ConnectorStats {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	latest := map[string]connectorSeen{}
	for _, c := range g.connector {
		if l, ok := latest[c.stats.Channel]; !ok || c.at.After(l.at) {
			latest[c.stats.Channel] = c
		}
	}
	// A stale instance is kept only as its channel's last word.
	for id, c := range g.connector {
		if now.Sub(c.at) > g.cfg.StaleAfter && latest[c.stats.Channel].at.After(c.at) {
			delete(g.connector, id)
		}
	}
	out := make([]protocol.ConnectorStats, 0, len(g.channels))
	for ch := range g.channels {
		c, ok := latest[ch]
		switch {
		case !ok:
			out = append(out, protocol.ConnectorStats{Channel: ch, State: protocol.StateDisconnected, Reason: "its connector does not answer"})
		case now.Sub(c.at) > g.cfg.StaleAfter:
			cs := c.stats
			cs.State, cs.ConnectedSince, cs.Queued, cs.Users = protocol.StateDisconnected, time.Time{}, 0, 0
			cs.Reason = "its connector has not answered since " + c.at.UTC().Format(time.RFC3339)
			out = append(out, cs)
		default:
			out = append(out, c.stats)
		}
	}
	slices.SortFunc(out, func(a, b protocol.ConnectorStats) int { return strings.Compare(a.Channel, b.Channel) })
	return out
}

// Database returns the database operations' figures in operation order,
// summed over the service's instances that answered within StaleAfter;
// none when no database service answers.
func (g *Gatherer) Database() []DatabaseOp {
	now := time.Now()
	sum := map[string]DatabaseOp{}
	g.mu.Lock()
	for id, d := range g.db {
		if now.Sub(d.at) > g.cfg.StaleAfter {
			delete(g.db, id)
			continue
		}
		for op, o := range d.ops {
			s := sum[op]
			s.Operation = op
			s.Requests += o.Requests
			if o.Requests > d.base[op] {
				s.Growth += o.Requests - d.base[op]
			}
			s.Errors += o.Errors
			s.Time += o.Time
			sum[op] = s
		}
	}
	g.mu.Unlock()
	out := make([]DatabaseOp, 0, len(sum))
	for _, o := range sum {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b DatabaseOp) int { return strings.Compare(a.Operation, b.Operation) })
	return out
}

// ChatLines returns the chat lines (and PMs) the connectors took in and
// sent out since the Gatherer first saw them: Rates for the dashboard (a
// connector that ran long before the monitor started does not show as one
// burst).
func (g *Gatherer) ChatLines() (in, out uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.connector {
		in += c.stats.MessagesIn - min(c.inBase, c.stats.MessagesIn)
		out += c.stats.MessagesOut - min(c.outBase, c.stats.MessagesOut)
	}
	return in, out
}

// DatabaseOperations are the database service's operations, as
// DatabaseOp.Operation names them.
var DatabaseOperations = []string{"get", "set", "update", "delete", "query", "count", "schema-register"}

// databaseRates makes a Rate of each operation's requests.
func databaseRates(read func() []DatabaseOp) []Rate {
	out := make([]Rate, len(DatabaseOperations))
	for i, op := range DatabaseOperations {
		out[i] = Rate{Name: op, Read: func() uint64 {
			for _, o := range read() {
				if o.Operation == op {
					return o.Growth
				}
			}
			return 0
		}}
	}
	return out
}
