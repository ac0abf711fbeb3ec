package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
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

// workers is how many commands one plugin instance handles at once. A
// fixed pool (rather than a goroutine per command) keeps grown stacks warm;
// each worker starts on first use, so a quiet plugin costs nothing.
// Each user's commands go to the same worker, so one user's commands run in
// the order they were said ("!quote add …" then "!quote 1" works), while
// different users' commands run side by side.
const workers = 16

type job struct {
	r   micro.Request
	ev  *eventbus.Event
	req Request
	err error // the request could not be decoded
}

// instance is one running plugin: its Host and its micro service.
type instance struct {
	p    Plugin
	info Info
	host *Host
	bus  *eventbus.Bus
	svc  micro.Service
	jobs []chan job
	wg   sync.WaitGroup
	// gate guards jobs: micro's Stop drains the endpoint in the background,
	// so a command may still arrive after it returns.
	gate     sync.RWMutex
	closed   bool
	running  [workers]atomic.Bool // workers start on first use
	lastRecv atomic.Int64         // unix nanoseconds of the last command received
}

// startInstance starts p and exposes it as a micro service whose command
// endpoint is plugin.<name>.command, in the queue group of that name so that
// copies share the work.
func startInstance(ctx context.Context, p Plugin, bus *eventbus.Bus, db *database.Client, log *slog.Logger, config json.RawMessage) (in *instance, err error) {
	info := p.Info()
	if err := info.Validate(); err != nil {
		return nil, err
	}
	in = &instance{p: p, info: info, bus: bus, jobs: make([]chan job, workers)}
	in.host = newHost(info.Name, bus, db, log, config)
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
	infoJSON, _ := json.Marshal(info)
	in.svc, err = micro.AddService(bus.Conn(), micro.Config{
		Name:        info.Name,
		Version:     semver(info.Version),
		Description: info.Description,
		Metadata:    map[string]string{MetaInfo: string(infoJSON), MetaPrefix: bus.Prefix()},
		QueueGroup:  "rosey." + info.Name,
		Endpoint: &micro.EndpointConfig{
			Subject: bus.Subject(protocol.PluginCommand(info.Name)),
			Handler: micro.HandlerFunc(in.receive),
		},
	})
	if err != nil {
		_ = in.host.shutdown(ctx)
		_ = safeCall(func() error { return p.Stop(ctx) })
		return nil, fmt.Errorf("%w: %s: micro service: %w", ErrStartFailed, info.Name, err)
	}
	for i := range in.jobs {
		in.jobs[i] = make(chan job, 64)
	}
	return in, nil
}

func (in *instance) id() string { return in.svc.Info().ID }

func (in *instance) announce(ctx context.Context, state, errText string) {
	a := Announcement{Info: in.info, Instance: in.id(), State: state, Error: errText}
	if err := in.bus.Publish(ctx, protocol.PluginState(in.info.Name, state), a); err != nil {
		in.host.log.Warn("announce failed", "state", state, "err", err)
	}
}

// receive runs on the endpoint's subscription and hands each command to the
// worker pool, so a slow command does not hold up the next.
func (in *instance) receive(r micro.Request) {
	ev := eventbus.FromMsg(&nats.Msg{Subject: r.Subject(), Reply: r.Reply(), Data: r.Data(), Header: nats.Header(r.Headers())}, in.bus.Prefix())
	in.lastRecv.Store(time.Now().UnixNano())
	j := job{r: r, ev: ev}
	j.err = ev.Decode(&j.req)
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(j.req.User)))
	in.gate.RLock()
	defer in.gate.RUnlock()
	if in.closed {
		body, _ := json.Marshal(Response{Error: "⚠️ " + in.info.Name + " is stopping; try again in a moment."})
		_ = r.Respond(body)
		return
	}
	shard := h.Sum32() % workers
	if in.running[shard].CompareAndSwap(false, true) {
		in.wg.Add(1)
		go in.work(in.jobs[shard])
	}
	in.jobs[shard] <- j
}

func (in *instance) work(jobs <-chan job) {
	defer in.wg.Done()
	for j := range jobs {
		in.bus.Dispatch(j.ev, func(ctx context.Context, _ *eventbus.Event) { in.serve(ctx, j) })
	}
}

func (in *instance) serve(ctx context.Context, j job) {
	r, ev, req := j.r, j.ev, j.req
	log := in.host.log
	hdr := micro.WithHeaders(micro.Headers(in.bus.Header(ctx)))
	fail := func(code, text string) {
		body, _ := json.Marshal(Response{Error: text})
		if err := r.Error(code, text, body, hdr); err != nil {
			log.Warn("reply failed", "err", err)
		}
	}
	if err := j.err; err != nil {
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
		body, _ := json.Marshal(Response{Result: result})
		if err := r.Respond(body, hdr); err != nil {
			log.Warn("reply failed", "err", err)
		}
	case IsUserError(err):
		body, _ := json.Marshal(Response{Error: err.Error()})
		if err := r.Respond(body, hdr); err != nil {
			log.Warn("reply failed", "err", err)
		}
	default:
		log.Error("command failed", "command", req.Command, "user", req.User, "err", err, "correlation_id", ev.CorrelationID)
		fail("500", "internal error")
	}
}

// stop ends the service first (no new commands), waits for the commands in
// flight, then stops the plugin and releases what its Host holds.
func (in *instance) stop(ctx context.Context) error {
	var errs []error
	if err := in.svc.Stop(); err != nil {
		errs = append(errs, err)
	}
	// micro drains the endpoint in the background: once the server has the
	// unsubscribe (a flush) nothing new comes, but commands already
	// delivered still reach receive. Serve them: wait until receive has
	// been quiet for a moment before closing the workers.
	if in.lastRecv.Load() != 0 { // never asked anything: nothing can be draining in
		if err := in.bus.Flush(ctx); err != nil && !errors.Is(err, eventbus.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for quiet := 50 * time.Millisecond; time.Since(time.Unix(0, in.lastRecv.Load())) < quiet && ctx.Err() == nil; {
		time.Sleep(5 * time.Millisecond)
	}
	in.gate.Lock()
	in.closed = true
	for _, jobs := range in.jobs {
		close(jobs)
	}
	in.gate.Unlock()
	done := make(chan struct{})
	go func() { in.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("plugin %s: commands still in flight: %w", in.info.Name, ctx.Err()))
	}
	if err := safeCall(func() error { return in.p.Stop(ctx) }); err != nil {
		errs = append(errs, err)
	}
	if err := in.host.shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stats returns the command endpoint's request and error counts.
func (in *instance) stats() (requests, errs int, last string) {
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
