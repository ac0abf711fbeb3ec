package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Handler handles one event. ctx carries the event's correlation id, so
// anything published with it is tied to the event; it is cancelled when the
// bus closes. A panic in a handler is recovered and logged.
type Handler func(ctx context.Context, ev *Event)

// Bus is a connection to NATS speaking the Rosey wire contract. It is safe
// for concurrent use.
type Bus struct {
	nc       *nats.Conn
	prefix   string
	source   string
	timeout  time.Duration
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	closed   chan struct{}
	subMu    sync.Mutex
	subs     map[*nats.Subscription]struct{}
	panics   atomic.Uint64
	received atomic.Uint64
	sent     atomic.Uint64
	// envs recycles publishing envelopes: nats.go encodes a message's
	// headers during PublishMsg and keeps no reference to them.
	envs  sync.Pool
	stamp stamper
}

// envelope is a reusable message with its header map.
type envelope struct {
	msg  nats.Msg
	h    nats.Header
	vals [4]string
}

// Stats counts what a bus has done.
type Stats struct {
	// Published counts messages sent (events, requests and replies).
	Published uint64
	// Received counts messages delivered to handlers.
	Received uint64
	// Panics counts handler panics that were recovered.
	Panics uint64
}

// Connect opens a bus. It fails fast when no server is reachable.
func Connect(ctx context.Context, cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.natsOptions()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	closed := make(chan struct{})
	opts = append(opts,
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats async error", "subject", subj, "err", err)
		}),
	)
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(dl)))
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("eventbus: connect: %w", err)
	}
	b := &Bus{
		nc:      nc,
		source:  cfg.Source,
		timeout: cfg.RequestTimeout,
		log:     log,
		closed:  closed,
		subs:    map[*nats.Subscription]struct{}{},
	}
	if b.source == "" {
		b.source = cfg.Name
	}
	if cfg.Prefix != "" {
		b.prefix = cfg.Prefix + "."
	}
	if b.timeout == 0 {
		b.timeout = DefaultRequestTimeout
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Conn returns the underlying NATS connection, for features the bus does not
// wrap (such as nats.go/micro services). Subjects used on it directly must
// be passed through Subject.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Subject returns subject with the bus's prefix applied.
func (b *Bus) Subject(subject string) string { return b.prefix + subject }

// Prefix returns the configured subject prefix with its trailing dot, or "".
func (b *Bus) Prefix() string { return b.prefix }

// Source returns the name put in Rosey-Source.
func (b *Bus) Source() string { return b.source }

// Logger returns the bus's logger.
func (b *Bus) Logger() *slog.Logger { return b.log }

// Stats returns counters of the bus's activity.
func (b *Bus) Stats() Stats {
	return Stats{Published: b.sent.Load(), Received: b.received.Load(), Panics: b.panics.Load()}
}

// Option changes an outgoing event's envelope.
type Option func(*Event)

// WithPriority sets the event's priority.
func WithPriority(p Priority) Option { return func(e *Event) { e.Priority = p } }

// WithCorrelation sets the correlation id, overriding the context's.
func WithCorrelation(id string) Option { return func(e *Event) { e.CorrelationID = id } }

// WithSource overrides the Rosey-Source header for one event.
func WithSource(source string) Option { return func(e *Event) { e.Source = source } }

// WithMetadata adds one metadata pair. Keys should be header-safe tokens.
func WithMetadata(key, value string) Option {
	return func(e *Event) {
		if e.Metadata == nil {
			e.Metadata = map[string]string{}
		}
		e.Metadata[key] = value
	}
}

// Encode turns data into a JSON body: []byte and json.RawMessage pass
// through unchanged, anything else is marshalled.
func Encode(data any) ([]byte, error) {
	switch d := data.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return d, nil
	case []byte:
		return d, nil
	}
	body, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("eventbus: encode: %w", err)
	}
	return body, nil
}

// Header returns the envelope headers for a message published with ctx,
// for code replying through another API (such as micro.Request.Respond).
func (b *Bus) Header(ctx context.Context, opts ...Option) nats.Header {
	ev := &Event{Timestamp: time.Now(), Priority: PriorityNormal, CorrelationID: CorrelationID(ctx), Source: b.source}
	for _, o := range opts {
		o(ev)
	}
	return ev.header(b.stamp.format(ev.Timestamp))
}

// Publish sends an event. data is marshalled to JSON (see Encode). The
// correlation id comes from ctx (or opts), or a new one is made.
func (b *Bus) Publish(ctx context.Context, subject string, data any, opts ...Option) error {
	return b.publish(ctx, subject, "", data, opts)
}

// PublishRequest sends a request without waiting for its answer: replies
// go to reply, a subject the caller subscribed to (for callers that match
// answers to requests themselves, such as the router).
func (b *Bus) PublishRequest(ctx context.Context, subject, reply string, data any, opts ...Option) error {
	if reply == "" {
		return fmt.Errorf("%w: empty reply subject", ErrInvalidSubject)
	}
	return b.publish(ctx, subject, reply, data, opts)
}

func (b *Bus) publish(ctx context.Context, subject, reply string, data any, opts []Option) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	body, err := Encode(data)
	if err != nil {
		return err
	}
	if err := b.send(b.prefix+subject, reply, body, CorrelationID(ctx), opts); err != nil {
		return b.wrap("publish "+subject, err)
	}
	return nil
}

// envelope takes a pooled envelope and fills its headers.
func (b *Bus) envelope(correlation string, opts []Option) *envelope {
	ev := Event{Timestamp: time.Now(), Priority: PriorityNormal, CorrelationID: correlation, Source: b.source}
	if len(opts) > 0 {
		e := ev
		for _, o := range opts {
			o(&e)
		}
		ev = e
	}
	if ev.CorrelationID == "" {
		ev.CorrelationID = NewCorrelationID()
	}
	env, _ := b.envs.Get().(*envelope)
	if env == nil {
		env = &envelope{h: make(nats.Header, 4)}
	}
	ev.fillHeader(env.h, &env.vals, b.stamp.format(ev.Timestamp))
	return env
}

// send publishes body on the NATS subject with the envelope, reusing a
// pooled message and header map.
func (b *Bus) send(subject, reply string, body []byte, correlation string, opts []Option) error {
	env := b.envelope(correlation, opts)
	env.msg = nats.Msg{Subject: subject, Reply: reply, Data: body, Header: env.h}
	err := b.nc.PublishMsg(&env.msg)
	env.msg = nats.Msg{}
	b.envs.Put(env)
	if err == nil {
		b.sent.Add(1)
	}
	return err
}

// Request sends data to subject and waits for one reply, until ctx is done or,
// without a deadline, the bus's request timeout passes.
func (b *Bus) Request(ctx context.Context, subject string, data any, opts ...Option) (*Event, error) {
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	body, err := Encode(data)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	env := b.envelope(CorrelationID(ctx), opts)
	env.msg = nats.Msg{Subject: b.prefix + subject, Data: body, Header: env.h}
	// nats.go encodes the message before it waits; the envelope is free
	// again once the request was sent, but is only put back at the end.
	reply, err := b.nc.RequestMsgWithContext(ctx, &env.msg)
	env.msg = nats.Msg{}
	b.envs.Put(env)
	b.sent.Add(1)
	if err != nil {
		return nil, b.wrap("request "+subject, err)
	}
	return fromMsg(reply, b.prefix), nil
}

// Respond replies to a request event. The reply keeps the request's
// correlation id. Replying to an event that is not a request is an error.
func (b *Bus) Respond(ctx context.Context, req *Event, data any, opts ...Option) error {
	if req.Reply == "" {
		return fmt.Errorf("eventbus: respond to %s: not a request", req.Subject)
	}
	body, err := Encode(data)
	if err != nil {
		return err
	}
	correlation := req.CorrelationID
	if correlation == "" {
		correlation = CorrelationID(ctx)
	}
	// The reply subject is an inbox; it is never prefixed.
	if err := b.send(req.Reply, "", body, correlation, opts); err != nil {
		return b.wrap("respond "+req.Subject, err)
	}
	return nil
}

// Subscription is an active subscription.
type Subscription struct {
	sub  *nats.Subscription
	bus  *Bus
	gone atomic.Bool // Unsubscribe was called
}

// Unsubscribe stops delivery, after the messages already received are
// handled. It returns at once; Drain also waits for that.
func (s *Subscription) Unsubscribe() error {
	if s.gone.Swap(true) {
		return nil
	}
	s.bus.subMu.Lock()
	delete(s.bus.subs, s.sub)
	s.bus.subMu.Unlock()
	if err := s.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		return fmt.Errorf("eventbus: unsubscribe %s: %w", s.sub.Subject, err)
	}
	return nil
}

// Drain is Unsubscribe that also waits until the server has dropped the
// subscription (or ctx ends): once it returns nobody can reach it any more.
// Messages received before that are still handled, in the background.
func (s *Subscription) Drain(ctx context.Context) error {
	if err := s.Unsubscribe(); err != nil {
		return err
	}
	if err := s.bus.Flush(ctx); err != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("eventbus: drain %s: %w", s.sub.Subject, err)
	}
	return nil
}

// Subject returns the subscribed subject, prefix included.
func (s *Subscription) Subject() string { return s.sub.Subject }

// Subscribe delivers every event on subject (wildcards allowed) to h, one at a
// time and in order.
func (b *Bus) Subscribe(subject string, h Handler) (*Subscription, error) {
	return b.QueueSubscribe(subject, "", h)
}

// QueueSubscribe is Subscribe within a queue group: each event goes to one
// member of the group, so copies of a component share the load.
func (b *Bus) QueueSubscribe(subject, queue string, h Handler) (*Subscription, error) {
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	sub, err := b.nc.QueueSubscribe(b.prefix+subject, queue, func(m *nats.Msg) {
		b.received.Add(1)
		b.dispatch(fromMsg(m, b.prefix), h)
	})
	if err != nil {
		return nil, b.wrap("subscribe "+subject, err)
	}
	// Generous pending limits: a burst of chat must not be dropped as a slow consumer.
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	b.subMu.Lock()
	b.subs[sub] = struct{}{}
	b.subMu.Unlock()
	return &Subscription{sub: sub, bus: b}, nil
}

// dispatch runs h for ev with the bus's context, the event's correlation id
// and panic recovery.
func (b *Bus) dispatch(ev *Event, h Handler) {
	ctx := b.ctx
	if ev.CorrelationID != "" {
		ctx = WithCorrelationID(ctx, ev.CorrelationID)
	}
	defer func() {
		if r := recover(); r != nil {
			b.panics.Add(1)
			b.log.Error("handler panic recovered", "subject", ev.Subject, "panic", r, "correlation_id", ev.CorrelationID, "stack", string(debug.Stack()))
		}
	}()
	h(ctx, ev)
}

// Flush waits until the server has processed everything sent so far.
func (b *Bus) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return b.wrap("flush", err)
	}
	return nil
}

// Close drains the connection: subscriptions made through the bus stop
// taking new messages and handle the ones received, pending publishes are
// flushed, then the connection closes. It waits until that is done or ctx
// ends. (nats.go's own Drain polls every 10 ms; this is quicker to stop.)
func (b *Bus) Close(ctx context.Context) error {
	defer b.cancel()
	if b.nc.IsClosed() {
		return nil
	}
	b.subMu.Lock()
	subs := make([]*nats.Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.subs = map[*nats.Subscription]struct{}{}
	b.subMu.Unlock()
	if !b.nc.IsConnected() {
		// Reconnecting: a drain could not complete; nothing more can arrive.
		b.nc.Close()
		<-b.closed
		return nil
	}
	for _, s := range subs {
		_ = s.Drain()
	}
	for _, s := range subs {
		for s.IsValid() {
			select {
			case <-ctx.Done():
				b.nc.Close()
				return fmt.Errorf("eventbus: close: %w", ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	// The server may have gone without the client noticing yet: do not
	// wait long for its PONG.
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	err := b.Flush(fctx)
	cancel()
	b.nc.Close()
	<-b.closed
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// Closed reports a channel that is closed once the connection is closed for good.
func (b *Bus) Closed() <-chan struct{} { return b.closed }

func (b *Bus) wrap(op string, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("eventbus: %s: %w", op, ErrNoResponders)
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("eventbus: %s: %w", op, ErrTimeout)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return fmt.Errorf("eventbus: %s: %w", op, ErrClosed)
	}
	return fmt.Errorf("eventbus: %s: %w", op, err)
}

func checkSubject(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return fmt.Errorf("%w: %q", ErrInvalidSubject, s)
	}
	return nil
}
