package cytube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/roseybot/rosey/eventbus"
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
	cooldown chan time.Duration
	limiter  *rate.Limiter
	connLim  *rate.Limiter

	mu           sync.Mutex
	started      bool
	stopped      bool
	state        string
	reason       string
	sess         *session      // the joined session, nil otherwise
	ready        chan struct{} // closed once sess is set; replaced when it ends
	name         string
	rank         float64
	users        map[string]member // by lower-case name
	listed       bool              // a userlist has been seen since Start
	err          error
	slowed       bool
	lastCooldown time.Time
	since        time.Time
	seen         dedup // used only by the run goroutine

	// Sending. sendMu is held by whoever sends (the send loop, or a bus
	// handler taking the fast path); it guards the pacing state below.
	// waiting counts messages queued or being delivered by the send loop:
	// while it is not zero, new messages queue behind them.
	sendMu    sync.Mutex
	waiting   atomic.Int64
	paceCount int       // CyTube's flood counter, mirrored
	paceLast  time.Time // when the last message went out
	lastSent  *outMsg   // resent once if a cooldown says it was dropped

	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
	subs   []*eventbus.Subscription

	in, out, dropped, bad, cooldowns, reconnects, malformed atomic.Uint64
}

type member struct {
	name string
	rank float64
}

// outMsg is one chat line or PM waiting to be sent.
type outMsg struct {
	event   string // chatMsg or pm
	payload any
	text    string
	to      string
	retried bool
	at      time.Time
}

type chatOut struct {
	Msg  string   `json:"msg"`
	Meta struct{} `json:"meta"`
}

type pmOut struct {
	To   string   `json:"to"`
	Msg  string   `json:"msg"`
	Meta struct{} `json:"meta"`
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
	// Reconnects counts reconnect attempts after the first connection.
	Reconnects uint64
	// MalformedFrames counts frames from the server that could not be parsed.
	MalformedFrames uint64
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
		cooldown: make(chan time.Duration, 8),
		connLim:  rate.NewLimiter(rate.Every(cfg.ConnectInterval), cfg.ConnectBurst),
		ready:    make(chan struct{}),
		users:    map[string]member{},
		done:     make(chan struct{}),
		state:    protocol.StateDisconnected,
		rank:     protocol.RankAnonymous,
	}
	c.limiter = c.paceFor(protocol.RankGuest)
	return c, nil
}

func (c *Connector) paceFor(rank float64) *rate.Limiter {
	if c.cfg.Unpaced {
		return rate.NewLimiter(rate.Inf, 1)
	}
	if rank >= protocol.RankModerator {
		return rate.NewLimiter(rate.Limit(c.cfg.ModRate), c.cfg.ModBurst)
	}
	return rate.NewLimiter(rate.Limit(c.cfg.Rate), c.cfg.Burst)
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
	for _, s := range []struct {
		subject string
		h       eventbus.Handler
	}{{protocol.SendChat, c.handleSendChat}, {protocol.SendPM, c.handleSendPM}} {
		sub, err := c.bus.Subscribe(s.subject, s.h)
		if err != nil {
			c.unsubscribe()
			return fmt.Errorf("cytube: start: %w", err)
		}
		c.subs = append(c.subs, sub)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
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
		c.setState(protocol.StateDisconnected, "stopped")
	}
	return nil
}

func (c *Connector) unsubscribe() {
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
	if c.sess != nil {
		st.ConnectedSince = c.since
	}
	c.mu.Unlock()
	st.MessagesIn, st.MessagesOut = c.in.Load(), c.out.Load()
	st.Queued, st.Dropped, st.BadRequests = len(c.queue), c.dropped.Load(), c.bad.Load()
	st.Cooldowns, st.Reconnects, st.MalformedFrames = c.cooldowns.Load(), c.reconnects.Load(), c.malformed.Load()
	return st
}

// setState records and publishes a state change on cytube.connection.
func (c *Connector) setState(state, reason string) {
	c.mu.Lock()
	if c.state == state && c.reason == reason {
		c.mu.Unlock()
		return
	}
	c.state, c.reason = state, reason
	ev := protocol.ConnectionEvent{Channel: c.cfg.Channel, State: state, Reason: reason, User: c.name}
	c.mu.Unlock()
	c.log.Info("connection state", "state", state, "reason", reason)
	if err := c.bus.Publish(context.Background(), protocol.Connection, ev); err != nil {
		c.log.Warn("publish connection state", "err", err)
	}
}

func (c *Connector) run(ctx context.Context) {
	defer c.wg.Done()
	defer close(c.done)
	attempt := 0
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
			c.log.Error("giving up", "err", err)
			c.setState(protocol.StateFailed, err.Error())
			return
		}
		if up >= c.cfg.StableAfter {
			attempt = 0
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
	c.setState(protocol.StateConnected, "")
}

func (c *Connector) sessionEnded(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
		c.ready = make(chan struct{})
	}
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

func (c *Connector) handleSendChat(_ context.Context, ev *eventbus.Event) {
	var req protocol.SendChatRequest
	if err := ev.Decode(&req); err != nil {
		c.bad.Add(1)
		c.log.Warn("ignoring bad cytube.send.chat", "err", err, "source", ev.Source)
		return
	}
	if req.Channel != "" && !strings.EqualFold(req.Channel, c.cfg.Channel) {
		return // for another connector
	}
	parts, cut := SplitMessage(req.Message, c.cfg.MaxMessageLength, c.cfg.MaxParts)
	if cut {
		c.log.Warn("message too long; cut", "parts", len(parts), "source", ev.Source)
	}
	for _, p := range parts {
		c.enqueue(outMsg{event: "chatMsg", payload: chatOut{Msg: p}, text: p})
	}
}

func (c *Connector) handleSendPM(_ context.Context, ev *eventbus.Event) {
	var req protocol.SendPMRequest
	if err := ev.Decode(&req); err != nil {
		c.bad.Add(1)
		c.log.Warn("ignoring bad cytube.send.pm", "err", err, "source", ev.Source)
		return
	}
	if req.Channel != "" && !strings.EqualFold(req.Channel, c.cfg.Channel) {
		return
	}
	if !userRe.MatchString(req.To) {
		c.bad.Add(1)
		c.log.Warn("ignoring cytube.send.pm with a bad recipient", "to", req.To, "source", ev.Source)
		return
	}
	parts, cut := SplitMessage(req.Message, c.cfg.MaxMessageLength, c.cfg.MaxParts)
	if cut {
		c.log.Warn("pm too long; cut", "parts", len(parts), "source", ev.Source)
	}
	for _, p := range parts {
		c.enqueue(outMsg{event: "pm", payload: pmOut{To: req.To, Msg: p}, text: p, to: req.To})
	}
}

func (c *Connector) enqueue(m outMsg) {
	// Fast path: with nothing waiting and the pace allowing it, send from
	// this goroutine; a hand-off to the send loop costs a wake-up.
	if c.sendMu.TryLock() {
		if c.waiting.Load() == 0 && c.sendNow(&m) {
			c.sendMu.Unlock()
			return
		}
		c.waiting.Add(1) // under sendMu: the fast path sees it at once
		c.sendMu.Unlock()
	} else {
		c.waiting.Add(1)
	}
	select {
	case c.queue <- m:
	default:
		c.waiting.Add(-1)
		c.dropped.Add(1)
		c.log.Warn("send queue full; message dropped", "event", m.event, "to", m.to, "text", m.text)
	}
}

// sendNow sends m at once if nothing stands in the way: a joined session,
// no cooldown to handle, and the pace allowing a message now. The caller
// holds sendMu.
func (c *Connector) sendNow(m *outMsg) bool {
	if len(c.cooldown) > 0 {
		return false
	}
	c.mu.Lock()
	s := c.sess
	slowed := c.slowed
	c.mu.Unlock()
	if s == nil || slowed {
		return false
	}
	now := time.Now()
	if c.floodDelay(now) > 0 || !c.limiter.AllowN(now, 1) {
		return false
	}
	return c.emitLocked(s, m)
}

// emitLocked sends m on s and records it for pacing; the caller holds
// sendMu.
func (c *Connector) emitLocked(s *session, m *outMsg) bool {
	c.paceCount++
	c.paceLast = time.Now()
	c.out.Add(1) // counted first so that Stats never lags what the server saw
	if err := s.emit(m.event, m.payload); err != nil {
		c.out.Add(^uint64(0))
		c.log.Debug("send failed; waiting for the next session", "err", err)
		return false
	}
	m.at = time.Now()
	sent := *m
	c.lastSent = &sent
	return true
}

// sendLoop sends queued messages one at a time, paced, on whatever session
// is joined; while none is, messages wait in the queue.
func (c *Connector) sendLoop(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-c.cooldown:
			c.sendMu.Lock()
			r := c.afterCooldown(ctx, d, c.lastSent)
			ok := r == nil || c.deliver(ctx, r)
			c.sendMu.Unlock()
			if !ok {
				return
			}
		case m := <-c.queue:
			c.sendMu.Lock()
			ok := c.deliver(ctx, &m)
			c.waiting.Add(-1)
			c.sendMu.Unlock()
			if !ok {
				return
			}
		}
	}
}

// deliver sends m, waiting for the pace and for a session; the caller
// holds sendMu. It reports false when ctx ended first.
func (c *Connector) deliver(ctx context.Context, m *outMsg) bool {
	for {
		c.maybeRecover()
		if err := c.limiter.Wait(ctx); err != nil {
			return false
		}
		if !sleep(ctx, c.floodDelay(time.Now())) {
			return false
		}
		// A cooldown that arrived meanwhile: pause, and resend the line it dropped first.
		select {
		case d := <-c.cooldown:
			if r := c.afterCooldown(ctx, d, c.lastSent); r != nil && !c.deliver(ctx, r) {
				return false
			}
			if ctx.Err() != nil {
				return false
			}
		default:
		}
		s := c.readySession(ctx)
		if s == nil {
			return false
		}
		if c.emitLocked(s, m) {
			return true
		}
	}
}

// floodDelay mirrors CyTube's chat limiter, which is not a token bucket:
// after a burst it wants every message at least 1/rate apart until a full
// burst/rate of quiet has passed. A token bucket that has partly refilled
// would send two lines close together and have one dropped, so this extra
// wait keeps the pace inside CyTube's rule, with a margin for jitter.
func (c *Connector) floodDelay(now time.Time) time.Duration {
	lim := c.limiter.Limit()
	if lim == rate.Inf || lim <= 0 {
		return 0
	}
	interval := time.Duration(float64(time.Second) / float64(lim))
	burst := c.limiter.Burst()
	if now.Sub(c.paceLast) > time.Duration(burst)*interval {
		c.paceCount = 0
	}
	if c.paceCount < burst {
		return 0
	}
	margin := max(interval/20, 10*time.Millisecond)
	return c.paceLast.Add(interval + margin).Sub(now)
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// afterCooldown slows the pace, waits out the cooldown and returns the
// message that was most likely dropped, to be sent once more.
func (c *Connector) afterCooldown(ctx context.Context, d time.Duration, last *outMsg) *outMsg {
	c.cooldowns.Add(1)
	c.mu.Lock()
	c.lastCooldown = time.Now()
	if !c.cfg.Unpaced {
		lim := c.limiter.Limit() / 2
		if lim < 0.2 {
			lim = 0.2
		}
		c.limiter.SetLimit(lim)
		c.limiter.SetBurst(1)
		c.slowed = true
	}
	c.mu.Unlock()
	c.log.Warn("flood control dropped a message; slowing down", "cooldown", d)
	if !sleep(ctx, d) {
		return nil
	}
	if last == nil || last.retried || time.Since(last.at) > d+2*time.Second {
		return nil
	}
	r := *last
	r.retried = true
	return &r
}

func (c *Connector) maybeRecover() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slowed && time.Since(c.lastCooldown) > c.cfg.CooldownRecovery {
		c.slowed = false
		c.setPaceLocked()
	}
}

// setPaceLocked sets the limiter for the bot's rank unless a cooldown has
// slowed it.
func (c *Connector) setPaceLocked() {
	if c.cfg.Unpaced || c.slowed {
		return
	}
	lim, burst := rate.Limit(c.cfg.Rate), c.cfg.Burst
	if c.rank >= protocol.RankModerator {
		lim, burst = rate.Limit(c.cfg.ModRate), c.cfg.ModBurst
	}
	if c.limiter.Limit() != lim || c.limiter.Burst() != burst {
		c.limiter.SetLimit(lim)
		c.limiter.SetBurst(burst)
	}
}
