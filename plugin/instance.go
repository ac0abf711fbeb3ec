package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/internal/service"
	"github.com/roseybot/rosey/protocol"
)

// Lifecycle states of a plugin, also the last token of its
// platform.plugin.<name>.<state> events.
const (
	StateUnloaded = "unloaded"
	StateLoaded   = "loaded"
	StateStarted  = "started"
	StateStopped  = "stopped"
	StateFailed   = "failed"
	// StateReloaded is announced after a successful reload; the plugin's
	// state is then StateStarted.
	StateReloaded = "reloaded"
)

// Micro service metadata keys that mark a Rosey plugin.
const (
	// MetaInfo holds the plugin's Info as JSON.
	MetaInfo = "rosey.info"
	// MetaPrefix holds the subject prefix the plugin serves under, so bots
	// sharing a cluster do not see each other's plugins.
	MetaPrefix = "rosey.prefix"
)

// Announcement is the payload of platform.plugin.<name>.<state>.
type Announcement struct {
	Info
	// Instance is the id of the plugin's micro service instance.
	Instance string `json:"instance,omitempty"`
	// State is the lifecycle state announced.
	State string `json:"state"`
	// Error says why a plugin failed.
	Error string `json:"error,omitempty"`
}

// Instance is one running plugin: its Host and, unless it runs headless,
// its micro service. Run returns it; a plugin author never needs one (Serve
// and package roseytest run plugins), a program that runs plugins itself
// does (package plugin/supervisor).
type Instance struct {
	p    Plugin
	info Info
	host *Host
	bus  *eventbus.Bus
	svc  *service.Service // nil when headless
	// Commands being served hold gate for reading; stop takes it for
	// writing to wait for them and to turn away late ones (the endpoint
	// drains in the background, so one may arrive after its Stop).
	gate     sync.RWMutex
	closed   bool
	lastRecv atomic.Int64 // unix nanoseconds of the last command received
	// pool serves commands side by side (Host.Concurrency); nil serves
	// them one at a time on the endpoint's subscription. lastDone is when
	// its last command ended (unix nanoseconds).
	pool     *pool
	lastDone atomic.Int64

	// After its first started announcement an instance says started
	// again each time its connection comes back (the bot on the other
	// side may have restarted and forgotten it).
	watchMu     sync.Mutex
	reconnected chan nats.Status
	watchDone   chan struct{}
	unwatched   bool
}

// RunConfig configures Run. Every field is optional.
type RunConfig struct {
	// DB is the database client; the plugin's Host.DB is its namespace
	// (database.<name>.*). Nil runs the plugin without a database.
	DB *database.Client
	// Config is the plugin's config section.
	Config json.RawMessage
	// Logger receives the plugin's logs; nil is silent.
	Logger *slog.Logger
	// Middleware wraps the plugin's command handlers, around its own
	// (Host.Use); the first is outermost.
	Middleware []Middleware
	// Clock is the plugin's Host.Clock; nil is WallClock.
	Clock Clock
	// Headless starts the plugin with a Host but no micro service: its
	// commands are served elsewhere (a supervisor's child process).
	Headless bool
}

// Run starts p on bus and, unless cfg.Headless, exposes it as a micro
// service whose command endpoint is plugin.<name>.command, in the queue
// group rosey.<name> so that copies share the work. It returns once the
// plugin's Start has returned and the endpoint is registered; announcing
// the plugin (Instance.Announce) is the caller's choice. ServeContext is Run
// on a connection of its own, with the announcements.
func Run(ctx context.Context, p Plugin, bus *eventbus.Bus, cfg RunConfig) (in *Instance, err error) {
	info := p.Info()
	if err := info.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in = &Instance{p: p, info: info, bus: bus}
	in.host = newHost(info.Name, bus, cfg.DB, log, cfg.Config, cfg.Middleware, cfg.Clock)
	if err := safeCall(func() error { return p.Start(ctx, in.host) }); err != nil {
		_ = in.host.shutdown(ctx)
		_ = safeCall(func() error { return p.Stop(ctx) })
		return nil, fmt.Errorf("%w: %s: %w", ErrStartFailed, info.Name, err)
	}
	// Start may have read the plugin's config, which can change its commands
	// (cooldowns, ranks, aliases): take Info again. The name must not change.
	if fresh := p.Info(); fresh.Name == info.Name && fresh.Validate() == nil {
		info, in.info = fresh, fresh
	}
	n := in.host.startServing()
	if cfg.Headless {
		return in, nil
	}
	if n > 1 {
		in.pool = newPool(n)
	}
	infoJSON, _ := json.Marshal(info)
	in.svc, err = service.New(bus.Conn(), service.Config{
		Name:        info.Name,
		Version:     semver(info.Version),
		Description: info.Description,
		Metadata:    map[string]string{MetaInfo: string(infoJSON), MetaPrefix: bus.Prefix()},
		QueueGroup:  "rosey." + info.Name,
	})
	if err == nil {
		if err = in.svc.AddEndpoint("command", bus.Subject(protocol.PluginCommand(info.Name)), in.receive); err != nil {
			_ = in.svc.Stop()
		}
	}
	if err != nil {
		_ = in.host.shutdown(ctx)
		_ = safeCall(func() error { return p.Stop(ctx) })
		return nil, fmt.Errorf("%w: %s: service: %w", ErrStartFailed, info.Name, err)
	}
	return in, nil
}

// Info returns the plugin's Info as it was once started (Start may have
// changed its commands).
func (in *Instance) Info() Info { return in.info }

// ID returns the id of the instance's micro service ("" when headless).
func (in *Instance) ID() string {
	if in.svc == nil {
		return ""
	}
	return in.svc.ID()
}

// Announce publishes the instance's lifecycle event
// platform.plugin.<name>.<state>. After StateStarted it announces started
// again each time the connection comes back, until Stop.
func (in *Instance) Announce(ctx context.Context, state, errText string) {
	a := Announcement{Info: in.info, Instance: in.ID(), State: state, Error: errText}
	if err := in.bus.Publish(ctx, protocol.PluginState(in.info.Name, state), a); err != nil {
		in.host.log.Warn("announce failed", "state", state, "err", err)
	}
	if state == StateStarted {
		in.watchReconnects()
	}
}

// watchReconnects announces the instance again after each reconnect,
// until stop. Calling it again does nothing.
func (in *Instance) watchReconnects() {
	in.watchMu.Lock()
	defer in.watchMu.Unlock()
	if in.reconnected != nil || in.unwatched {
		return
	}
	ch := in.bus.Conn().StatusChanged(nats.CONNECTED)
	in.reconnected, in.watchDone = ch, make(chan struct{})
	done := in.watchDone
	go func() {
		defer close(done)
		for range ch { // closed by stop
			in.host.log.Info("reconnected: announcing started again")
			a := Announcement{Info: in.info, Instance: in.ID(), State: StateStarted}
			if err := in.bus.Publish(context.Background(), protocol.PluginState(in.info.Name, StateStarted), a); err != nil {
				in.host.log.Warn("announce failed", "state", StateStarted, "err", err)
			}
		}
	}()
}

// unwatchReconnects ends watchReconnects' goroutine.
func (in *Instance) unwatchReconnects() {
	in.watchMu.Lock()
	ch, done := in.reconnected, in.watchDone
	in.reconnected, in.unwatched = nil, true
	in.watchMu.Unlock()
	if ch != nil {
		in.bus.Conn().RemoveStatusListener(ch)
		<-done
	}
}

// receive takes each command on the endpoint's subscription. By default it
// serves it there, so one plugin's commands run one at a time, in the
// order they arrive (and "!quote add …" then "!quote 1" works). With a
// pool (Host.Concurrency) it hands the command over, keyed by user, and
// the request is counted done once answered (Request.Later). Different
// plugins run side by side; long work belongs in Host.Go.
//
// A command holds the gate for reading from here until it is answered,
// so that Stop, which takes it for writing, waits for the commands in the
// pool too.
func (in *Instance) receive(r *service.Request) {
	in.lastRecv.Store(r.Received().UnixNano())
	ev := busevent.FromMsg(r.Msg(), in.bus.Prefix())
	in.gate.RLock()
	if in.closed {
		in.gate.RUnlock()
		in.stopping(r)
		return
	}
	var req Request
	var decodeErr error
	if !fastRequest(ev.Data, &req) {
		decodeErr = ev.Decode(&req)
	}
	if in.pool == nil || decodeErr != nil {
		defer in.gate.RUnlock()
		in.serveRecovered(r, ev, req, decodeErr)
		return
	}
	answered := r.Later()
	taken := in.pool.submit(strings.ToLower(req.User), func() {
		defer func() {
			in.lastDone.Store(time.Now().UnixNano())
			answered()
			in.gate.RUnlock()
		}()
		if in.host.ctx.Err() != nil {
			in.stopping(r) // Stop gave up waiting for the pool: not started
			return
		}
		in.serveRecovered(r, ev, req, nil)
	})
	if !taken {
		defer in.gate.RUnlock()
		defer answered()
		text := fmt.Sprintf("⚠️ %s, too many of your commands are waiting in %s; try again in a moment.", Clip(req.User, 64), in.info.Name)
		if err := r.Error("429", text, encodeResponse(Response{Error: text}), in.bus.Header(in.host.ctx)); err != nil {
			in.host.log.Warn("reply failed", "err", err)
		}
	}
}

// stopping answers that the plugin is stopping.
func (in *Instance) stopping(r *service.Request) {
	body := encodeResponse(Response{Error: "⚠️ " + in.info.Name + " is stopping; try again in a moment."})
	_ = r.Respond(body, nil)
}

// serveRecovered serves one command in the Host's context (a stopping
// plugin's handlers see it end), with its correlation id.
func (in *Instance) serveRecovered(r *service.Request, ev *eventbus.Event, req Request, decodeErr error) {
	defer func() {
		if p := recover(); p != nil { // serve recovers the handler; this is for the rest
			in.host.log.Error("command panic recovered", "panic", p, "correlation_id", ev.CorrelationID, "stack", string(debug.Stack()))
		}
	}()
	ctx := in.host.ctx
	if ev.CorrelationID != "" {
		ctx = eventbus.WithCorrelationID(ctx, ev.CorrelationID)
	}
	in.serve(ctx, r, ev, req, decodeErr)
}

func (in *Instance) serve(ctx context.Context, r *service.Request, ev *eventbus.Event, req Request, decodeErr error) {
	log := in.host.log
	fail := func(code, text string) {
		body := encodeResponse(Response{Error: text})
		if err := r.Error(code, text, body, in.bus.Header(ctx)); err != nil {
			log.Warn("reply failed", "err", err)
		}
	}
	if err := decodeErr; err != nil {
		log.Error("malformed command request", "err", err, "correlation_id", ev.CorrelationID)
		fail("400", "malformed request: "+err.Error())
		return
	}
	fn, ok := in.host.handler(req.Command)
	if !ok {
		if c, found := in.info.Find(req.Command); found {
			fn, ok = in.host.handler(c.Name)
		}
	}
	if !ok {
		fail("404", fmt.Sprintf("unknown command %q", req.Command))
		return
	}
	var result string
	err := safeCall(func() (err error) { result, err = fn(ctx, &req); return err })
	switch {
	case err == nil:
		if err := in.bus.Respond(ctx, ev, encodeResponse(Response{Result: result})); err != nil {
			log.Warn("reply failed", "err", err)
		}
	case IsUserError(err):
		if err := in.bus.Respond(ctx, ev, encodeResponse(Response{Error: err.Error()})); err != nil {
			log.Warn("reply failed", "err", err)
		}
	default:
		log.Error("command failed", "command", req.Command, "user", req.User, "err", err, "correlation_id", ev.CorrelationID)
		fail("500", "internal error")
	}
}

// Stop ends the service first (no new commands), waits for the commands in
// flight, then stops the plugin and releases what its Host holds. It
// announces nothing.
func (in *Instance) Stop(ctx context.Context) error {
	in.unwatchReconnects()
	var errs []error
	if in.svc != nil {
		if err := in.svc.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	// The endpoint drains in the background: once the server has the
	// unsubscribe (a flush) nothing new comes, but commands already
	// delivered still reach receive. Serve them: wait for the drain to end
	// while commands keep coming in (a busy machine may hold delivered
	// ones back for long; a command stuck in its handler holds the rest
	// until its context ends below), then until receive has been quiet
	// for a moment before turning commands away. A pool's commands count
	// as coming in while they end: Stop waits for those still waiting their
	// turn as long as the ones before them keep ending.
	if in.lastRecv.Load() != 0 { // never asked anything: nothing can be draining in
		if err := in.bus.Flush(ctx); err != nil && !errors.Is(err, eventbus.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for ctx.Err() == nil {
		idle := time.Since(time.Unix(0, max(in.lastRecv.Load(), in.lastDone.Load())))
		busy := in.svc != nil && !in.svc.Drained() || in.pool != nil && in.pool.busy()
		if (!busy && idle >= 50*time.Millisecond) || (busy && idle >= time.Second) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	in.host.cancel() // a command still running sees its context end
	closed := make(chan struct{})
	go func() {
		in.gate.Lock() // waits for the commands being served
		in.closed = true
		in.gate.Unlock()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("plugin %s: a command is still running: %w", in.info.Name, ctx.Err()))
	}
	if err := safeCall(func() error { return in.p.Stop(ctx) }); err != nil {
		errs = append(errs, err)
	}
	if err := in.host.shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats returns the command endpoint's request and error counts and its
// last error (zero when headless).
func (in *Instance) Stats() (requests, errs int, last string) {
	if in.svc == nil {
		return
	}
	for _, e := range in.svc.Stats().Endpoints {
		requests += e.NumRequests
		errs += e.NumErrors
		if e.LastError != "" {
			last = e.LastError
		}
	}
	return
}

// errPanic wraps a recovered panic.
var errPanic = errors.New("panic")

func safeCall(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", errPanic, r, debug.Stack())
		}
	}()
	return fn()
}

var semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// semver returns v when micro accepts it, else "0.0.0".
func semver(v string) string {
	if semverRE.MatchString(v) {
		return v
	}
	return "0.0.0"
}
