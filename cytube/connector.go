package cytube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/internal/service"
	"github.com/roseybot/rosey/protocol"
)

// Connector keeps a bot in one CyTube channel and translates between CyTube
// and the bus. Create it with New, then Start and Stop it once.
type Connector struct {
	bus    *eventbus.Bus
	cfg    Config
	log    *slog.Logger
	dialer *websocket.Dialer

	queue    chan outMsg
	cooldown chan cooldownEv
	capLim   *rate.Limiter // the optional Rate/Burst cap
	evLim    *rate.Limiter // the optional EventRate cap, for every event sent
	connLim  *rate.Limiter

	mu           sync.Mutex
	started      bool
	stopped      bool
	state        string
	reason       string
	troubled     bool          // a failure since the last good connection: logged as warnings
	sess         *session      // the joined session, nil otherwise
	ready        chan struct{} // closed once sess is set; replaced when it ends
	name         string
	rank         float64
	users        map[string]member // by lower-case name
	listed       bool              // a userlist has been seen since Start
	err          error
	antiFlood    bool      // the channel's chat_antiflood
	floodParams  floodRule // the channel's chat_antiflood_params
	slowed       bool      // a cooldown came: pace by slowRule for a while
	slowRule     floodRule
	lastCooldown time.Time
	since        time.Time
	st           chanState // the channel as last seen
	acts         actions
	gen          int   // sessions joined so far; used only by the run goroutine
	seen         dedup // used only by the run goroutine

	// Sending. sendMu is held by whoever sends (the send loop, or a bus
	// handler taking the fast path); it guards the pacing state below.
	// waiting counts messages queued or being delivered by the send loop:
	// while it is not zero, new messages queue behind them.
	sendMu  sync.Mutex
	enqMu   sync.Mutex // held by enqueue only, never while waiting for the pace
	waiting atomic.Int64

	// Lines sent and not yet answered (echoed, refused, dropped), oldest
	// first: a cooldown names no line, but the server answers in order, so
	// it is about the oldest. flightMu also guards mirror, CyTube's limiter
	// for the bot, which answers move on; answered wakes a sender waiting
	// for one.
	flightMu sync.Mutex
	inflight []sentLine
	mirror   floodMirror
	answered chan struct{}
	lineID   uint64 // numbers the lines written, for sending one again

	// Lines lost with a connection (see lost.go), guarded by flightMu:
	// lost are to be sent again before anything else, once lostReady says
	// the new session's history was checked; resend wakes the send loop
	// for them. mark is used by the run goroutine only.
	lost      []sentLine
	lostReady bool
	resend    chan struct{}
	mark      chatMark

	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
	subs   []*eventbus.Subscription

	in, out, dropped, bad, cooldowns, refused, reconnects, malformed, paced atomic.Uint64
	pacedNanos                                                              atomic.Int64

	svc *service.Service // serves protocol.ConnectorService between Start and Stop
}

type member struct {
	name               string
	rank               float64
	afk, muted, smuted bool
}

// outMsg is one reply waiting to be sent: its parts go out back to back,
// nothing else in between.
type outMsg struct {
	event string // chatMsg or pm
	to    string
	parts []string
	// command is a CyTube chat command sent for an action (/kick …): no
	// echo comes back. expires, when set, drops it if it cannot be sent
	// by then (its action has been answered with a timeout).
	command bool
	expires time.Time
	w       *waiter // the action waiting for the command's answer, if any
}

// sentLine is one chat line or PM sent, kept until the server echoes it.
type sentLine struct {
	event, to, text string
	command         bool
	expires         time.Time
	w               *waiter
	at              time.Time
	tries           int // times sent again after a cooldown
	id              uint64
	// lost counts the connections the line was lost with; unsure marks it
	// lost with the last one, not yet checked against CyTube's history;
	// resend marks it taken from Connector.lost to be sent again.
	lost           int
	unsure, resend bool
}

// cooldownEv is a cooldown event with the line it most likely dropped.
type cooldownEv struct {
	d    time.Duration
	at   time.Time
	line *sentLine
}

// Stats describes a connector for status displays.
type Stats struct {
	// State is one of the protocol.State* values; Reason explains it.
	State  string
	Reason string
	// User and Rank are the bot's logged-in name and rank.
	User string
	Rank float64
	// Users is the number of logged-in users in the channel.
	Users int
	// ConnectedSince is when the current session joined (zero when not joined).
	ConnectedSince time.Time
	// MessagesIn counts chat lines and PMs published on the bus.
	MessagesIn uint64
	// MessagesOut counts chat lines and PMs sent to CyTube.
	MessagesOut uint64
	// Queued is the number of messages waiting to be sent.
	Queued int
	// Dropped counts messages lost because the queue was full (each is logged).
	Dropped uint64
	// BadRequests counts unreadable cytube.send.* payloads.
	BadRequests uint64
	// Cooldowns counts cooldown events (messages dropped by flood control).
	Cooldowns uint64
	// Refused counts lines CyTube refused (noflood, spam filter, a failed
	// PM); cooldowns are counted apart.
	Refused uint64
	// Paced counts chat lines and PMs the pace held back before sending;
	// PacedFor is the time they were held in all.
	Paced    uint64
	PacedFor time.Duration
	// Pace is the chat rule the bot paces itself by right now.
	Pace Pace
	// Reconnects counts reconnect attempts after the first connection.
	Reconnects uint64
	// MalformedFrames counts frames from the server that could not be parsed.
	MalformedFrames uint64
}

// Pace is the chat flood rule the connector follows: Burst lines at once,
// then Sustained per second, the count reset after Cooldown of quiet.
// AntiFlood tells whether it is the channel's antiflood setting (else it is
// CyTube's fixed per-user limit). Slowed is true for a while after a
// cooldown event.
type Pace struct {
	Burst     int
	Sustained float64
	Cooldown  time.Duration
	AntiFlood bool
	Slowed    bool
}

// New validates cfg and returns a connector that publishes and subscribes on
// bus. Nothing touches the network until Start.
func New(bus *eventbus.Bus, cfg Config) (*Connector, error) {
	if bus == nil {
		return nil, fmt.Errorf("%w: bus: nil", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	c := &Connector{
		bus:      bus,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "cytube", "channel", cfg.Channel),
		dialer:   &websocket.Dialer{HandshakeTimeout: cfg.HandshakeTimeout, Proxy: websocket.DefaultDialer.Proxy},
		queue:    make(chan outMsg, cfg.QueueSize),
		cooldown: make(chan cooldownEv, 64),
		answered: make(chan struct{}, 1),
		resend:   make(chan struct{}, 1),
		capLim:   rate.NewLimiter(rate.Inf, 1),
		evLim:    rate.NewLimiter(rate.Inf, 1),
		connLim:  rate.NewLimiter(rate.Every(cfg.ConnectInterval), cfg.ConnectBurst),
		ready:    make(chan struct{}),
		users:    map[string]member{},
		done:     make(chan struct{}),
		state:    protocol.StateDisconnected,
		rank:     protocol.RankAnonymous,

		floodParams: defaultAntiFlood,
	}
	if cfg.EventRate > 0 && !cfg.Unpaced {
		c.evLim = rate.NewLimiter(rate.Limit(cfg.EventRate), max(cfg.EventBurst, 1))
	}
	c.setPaceLocked()
	return c, nil
}

// Start subscribes to cytube.send.chat and cytube.send.pm (once, for the
// connector's whole life, so reconnects never add handlers) and starts
// connecting in the background. It returns without waiting for the
// network; watch cytube.connection, State, Done and Err for progress. ctx
// only bounds Start itself.
func (c *Connector) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return ErrAlreadyStarted
	}
	c.started = true
	c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cytube: start: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	for _, s := range []struct {
		subject string
		h       eventbus.Handler
	}{{protocol.SendChat, c.handleSendChat}, {protocol.SendPM, c.handleSendPM}} {
		sub, err := c.bus.Subscribe(s.subject, s.h)
		if err != nil {
			c.unsubscribe()
			cancel()
			return fmt.Errorf("cytube: start: %w", err)
		}
		c.subs = append(c.subs, sub)
	}
	if err := c.subscribeChannel(runCtx); err != nil {
		c.unsubscribe()
		cancel()
		return fmt.Errorf("cytube: start: %w", err)
	}
	if err := c.serveStats(); err != nil {
		c.unsubscribe()
		cancel()
		return fmt.Errorf("cytube: start: %w", err)
	}
	// Heard from the return on: a line published right after, from
	// another connection, must not reach the server before the
	// subscriptions do.
	if err := c.bus.Flush(ctx); err != nil {
		c.unsubscribe()
		cancel()
		return fmt.Errorf("cytube: start: %w", err)
	}
	c.wg.Add(2)
	go c.run(runCtx)
	go c.sendLoop(runCtx)
	return nil
}

// Stop disconnects, unsubscribes and waits for every goroutine to end or
// ctx to be done. Messages still queued are logged and discarded.
func (c *Connector) Stop(ctx context.Context) error {
	c.mu.Lock()
	if !c.started {
		c.mu.Unlock()
		return ErrNotStarted
	}
	first := !c.stopped
	c.stopped = true
	c.mu.Unlock()
	if first {
		c.unsubscribe()
		c.cancel()
	}
	waited := make(chan struct{})
	go func() { c.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("cytube: stop: %w", ctx.Err())
	}
	if n := len(c.queue); n > 0 {
		c.log.Warn("stopped with messages unsent", "count", n)
	}
	if first && c.State() != protocol.StateFailed {
		c.setState(protocol.StateDisconnected, protocol.ReasonStopped)
	}
	return nil
}

func (c *Connector) unsubscribe() {
	if c.svc != nil {
		if err := c.svc.Stop(); err != nil {
			c.log.Debug("stop stats service", "err", err)
		}
		c.svc = nil
	}
	for _, s := range c.subs {
		if err := s.Unsubscribe(); err != nil {
			c.log.Debug("unsubscribe", "err", err)
		}
	}
	c.subs = nil
}

// Done is closed when the connector stops for good: after Stop, or after a
// fatal error (see Err).
func (c *Connector) Done() <-chan struct{} { return c.done }

// Channel is the channel the connector joins.
func (c *Connector) Channel() string { return c.cfg.Channel }

// Err returns the fatal error that stopped the connector, or nil.
func (c *Connector) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// State returns the current connection state (a protocol.State* value).
func (c *Connector) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Stats returns counters and the current state.
func (c *Connector) Stats() Stats {
	c.mu.Lock()
	st := Stats{State: c.state, Reason: c.reason, User: c.name, Rank: c.rank, Users: len(c.users)}
	r := c.ruleLocked("chatMsg")
	st.Pace = Pace{Burst: r.Burst, Sustained: r.Sustained, Cooldown: r.Cooldown, AntiFlood: c.antiFloodAppliesLocked(), Slowed: c.slowed}
	if c.sess != nil {
		st.ConnectedSince = c.since
	}
	c.mu.Unlock()
	st.MessagesIn, st.MessagesOut = c.in.Load(), c.out.Load()
	st.Queued, st.Dropped, st.BadRequests = len(c.queue), c.dropped.Load(), c.bad.Load()
	st.Cooldowns, st.Reconnects, st.MalformedFrames = c.cooldowns.Load(), c.reconnects.Load(), c.malformed.Load()
	st.Paced, st.PacedFor, st.Refused = c.paced.Load(), time.Duration(c.pacedNanos.Load()), c.refused.Load()
	return st
}

// wireStats is Stats as protocol.ConnectorStats, for the connector's micro
// service.
func (c *Connector) wireStats() protocol.ConnectorStats {
	st := c.Stats()
	return protocol.ConnectorStats{Channel: c.cfg.Channel, State: st.State, Reason: st.Reason, Users: st.Users,
		ConnectedSince: st.ConnectedSince, MessagesIn: st.MessagesIn, MessagesOut: st.MessagesOut,
		Queued: st.Queued, Dropped: st.Dropped, Paced: st.Paced, PacedSeconds: st.PacedFor.Seconds(),
		Cooldowns: st.Cooldowns, Refused: st.Refused, Reconnects: st.Reconnects, BadRequests: st.BadRequests,
		MalformedFrames: st.MalformedFrames,
		Pace:            protocol.ConnectorPace{Burst: st.Pace.Burst, Sustained: st.Pace.Sustained, AntiFlood: st.Pace.AntiFlood, Slowed: st.Pace.Slowed}}
}

// serveStats serves the connector's figures as an instance of
// protocol.ConnectorService: its "connector" endpoint answers
// cytube.state.connector for this channel, and $SRV.STATS carries the same
// figures, so a monitor in any process gathers every connector at once.
func (c *Connector) serveStats() error {
	svc, err := service.New(c.bus.Conn(), service.Config{
		Name:        protocol.ConnectorService,
		Version:     "1.0.0",
		Description: "Rosey's CyTube connector for channel " + c.cfg.Channel,
		Metadata:    map[string]string{protocol.MetaChannel: c.cfg.Channel, protocol.MetaPrefix: c.bus.Prefix()},
		StatsData: func(endpoint string) any {
			if endpoint != "connector" {
				return nil
			}
			return c.wireStats()
		},
	})
	if err != nil {
		return err
	}
	// No queue group: every connector hears the request, the channel's
	// answers (as for the other state requests).
	err = svc.AddEndpoint("connector", c.bus.Subject(protocol.StateConnector), func(r *service.Request) {
		ev := busevent.FromMsg(r.Msg(), c.bus.Prefix())
		req, mine := c.request(ev)
		if !mine {
			return
		}
		if req == nil {
			c.reply(ev, fail(protocol.CodeBadRequest, "the request body must be a JSON object (see docs/PROTOCOL.md)"))
			return
		}
		c.reply(ev, ok(c.wireStats()))
	})
	if err != nil {
		_ = svc.Stop()
		return err
	}
	c.svc = svc
	return nil
}

// setState records and publishes a state change on cytube.connection.
func (c *Connector) setState(state, reason string) {
	c.mu.Lock()
	if c.state == state && c.reason == reason {
		c.mu.Unlock()
		return
	}
	changed := c.state != state
	c.state, c.reason = state, reason
	// The way in (connecting, then connected) is news; a failure, and
	// every change after one until connected again, is a warning; a
	// retry's new reason is detail.
	level := slog.LevelInfo
	switch {
	case state == protocol.StateFailed:
		level = slog.LevelError
	case !changed:
		level = slog.LevelDebug
	case state == protocol.StateConnected:
		if c.troubled {
			level = slog.LevelWarn
		}
		c.troubled = false
	case state != protocol.StateConnecting:
		level, c.troubled = slog.LevelWarn, true
	}
	ev := protocol.ConnectionEvent{Channel: c.cfg.Channel, State: state, Reason: reason, User: c.name}
	c.mu.Unlock()
	c.log.Log(context.Background(), level, "connection state", "state", state, "reason", reason)
	if err := c.bus.Publish(context.Background(), protocol.Connection, ev); err != nil {
		c.log.Warn("publish connection state", "err", err)
	}
}

func (c *Connector) run(ctx context.Context) {
	defer c.wg.Done()
	defer close(c.done)
	attempt := 0
	var failingSince, alarmed time.Time // since the last good connection; the last error logged
	c.setState(protocol.StateConnecting, "")
	for {
		up, err := c.connectOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if IsFatal(err) {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			c.setState(protocol.StateFailed, "giving up: "+err.Error())
			return
		}
		if up >= c.cfg.StableAfter {
			attempt = 0
		}
		if up > 0 || failingSince.IsZero() {
			failingSince, alarmed = time.Now(), time.Time{}
		}
		if failing := time.Since(failingSince); failing >= c.cfg.ErrorAfter && time.Since(alarmed) >= errorEvery {
			// Once after ErrorAfter, then every errorEvery while it lasts.
			c.log.Error("cannot connect to CyTube; still retrying", "for", failing.Round(time.Second), "err", err)
			alarmed = time.Now()
		}
		delay := c.backoff(attempt)
		attempt++
		if errors.Is(err, ErrRateLimited) && delay < c.cfg.ConnectInterval {
			delay = c.cfg.ConnectInterval
		}
		switch {
		case errors.Is(err, ErrKicked):
			c.setState(protocol.StateKicked, err.Error())
		case up > 0:
			c.setState(protocol.StateDisconnected, err.Error())
		}
		c.reconnects.Add(1)
		c.setState(protocol.StateReconnecting, fmt.Sprintf("%v; retrying in %s", err, delay.Round(time.Millisecond)))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// errorEvery is how often a connector that keeps failing says so again at
// error level.
const errorEvery = 10 * time.Minute

// backoff is exponential from BackoffMin, capped at BackoffMax, with jitter
// in [d/2, d) so a fleet of bots does not reconnect in step.
func (c *Connector) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffMin
	for i := 0; i < attempt && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half)
}

// sessionReady makes s the session messages go out on.
func (c *Connector) sessionReady(s *session) {
	c.mu.Lock()
	c.sess = s
	c.since = time.Now()
	close(c.ready)
	c.mu.Unlock()
	select { // lines lost with the last connection go first
	case c.resend <- struct{}{}:
	default:
	}
	c.setState(protocol.StateConnected, "")
}

func (c *Connector) sessionEnded(s *session) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
		c.ready = make(chan struct{})
	}
	c.mu.Unlock()
	c.failSession(s)
	// Lines of a dead session are never answered (those CyTube may have
	// missed are sent again, see lost.go), and a new socket gets a fresh
	// limiter on the server.
	c.flightMu.Lock()
	c.collectLostLocked(s)
	c.inflight, c.mirror = nil, floodMirror{}
	c.flightMu.Unlock()
}

// readySession waits for a joined session.
func (c *Connector) readySession(ctx context.Context) *session {
	for {
		c.mu.Lock()
		s, ready := c.sess, c.ready
		c.mu.Unlock()
		if s != nil {
			return s
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil
		}
	}
}
