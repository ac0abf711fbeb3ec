package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/configjson"
	"github.com/roseybot/rosey/protocol"
)

// Host is a plugin's handle on the bot: its bus, database client, logger,
// config section and command registration. The same Host type serves a
// plugin in the bot's process, in its own process (Serve) and in roseytest.
//
// Subscriptions and goroutines made through the Host end when the plugin
// stops, so a reload leaves nothing behind.
type Host struct {
	name   string
	bus    *eventbus.Bus
	db     *database.Client
	log    *slog.Logger
	config json.RawMessage
	clock  Clock

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	handlers map[string]CommandHandler
	// outer is the bot's middleware (ManagerConfig.Middleware), around the
	// plugin's own (Use). wrapped holds each handler in both, built on
	// first use so that a command does not build its chain every time.
	outer   []Middleware
	own     []Middleware
	wrapped map[string]CommandHandler
	subs    []*eventbus.Subscription
	// concurrency is what Concurrency set (0: one at a time); serving is
	// set once Start has returned, when it is too late to change.
	concurrency int
	serving     bool
}

func newHost(name string, bus *eventbus.Bus, db *database.Client, log *slog.Logger, config json.RawMessage, outer []Middleware, clock Clock) *Host {
	ctx, cancel := context.WithCancel(context.Background())
	if clock == nil {
		clock = WallClock()
	}
	if db != nil {
		// Every plugin keeps its collections in a namespace of its own
		// (database.<name>.<op>), which a least-privilege NATS user for it
		// is allowed and no other plugin is.
		db = db.Namespace(name)
	}
	return &Host{
		clock:    clock,
		name:     name,
		bus:      bus,
		db:       db,
		log:      log.With("plugin", name),
		config:   config,
		ctx:      ctx,
		cancel:   cancel,
		handlers: map[string]CommandHandler{},
		outer:    outer,
		wrapped:  map[string]CommandHandler{},
	}
}

// Name returns the plugin's name.
func (h *Host) Name() string { return h.name }

// Bus returns the event bus.
func (h *Host) Bus() *eventbus.Bus { return h.bus }

// DB returns the database client (requests go over NATS to the database
// service), in the plugin's own namespace: its collections are the
// plugin's alone. DB().Namespace reaches a namespace shared on purpose.
func (h *Host) DB() *database.Client { return h.db }

// Logger returns a logger tagged with the plugin's name.
func (h *Host) Logger() *slog.Logger { return h.log }

// Config returns the plugin's raw config section, or nil.
func (h *Host) Config() json.RawMessage { return h.config }

// DecodeConfig unmarshals the plugin's config section into v. With no
// section, v is left as it is (holding the plugin's defaults). An error
// names the field as the file writes it ("config: max_dice: want a whole
// number, got a string"); the Manager adds the plugin's name.
func (h *Host) DecodeConfig(v any) error {
	if len(h.config) == 0 || string(h.config) == "null" {
		return nil
	}
	if err := configjson.CheckDurations(h.config, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(h.config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %w", configError(v, err))
	}
	return nil
}

// startServing marks the Host's plugin started and returns how many
// commands it serves at once.
func (h *Host) startServing() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serving = true
	return max(h.concurrency, 1)
}

// Context is cancelled when the plugin stops.
func (h *Host) Context() context.Context { return h.ctx }

// Handle registers fn for the command named command (its canonical name from
// Info). Registering a name twice replaces the handler.
//
// By default a plugin's handlers run one at a time, in the order commands
// arrive, so they need no locking against each other and one user's
// commands happen in the order said; Concurrency lets handlers that are
// safe side by side run so. A handler should answer quickly: for long work,
// start it with Go and say the result later with Say or PM.
func (h *Host) Handle(command string, fn CommandHandler) {
	h.mu.Lock()
	h.handlers[strings.ToLower(command)] = fn
	clear(h.wrapped)
	h.mu.Unlock()
}

// Use wraps every command handler of the plugin, registered before or
// after, in mw (the first given outermost). The bot's own middleware, if
// any, runs around it.
func (h *Host) Use(mw ...Middleware) {
	h.mu.Lock()
	h.own = append(h.own, mw...)
	clear(h.wrapped)
	h.mu.Unlock()
}

// handler returns the handler of command wrapped in the middleware.
func (h *Host) handler(command string) (CommandHandler, bool) {
	command = strings.ToLower(command)
	h.mu.Lock()
	defer h.mu.Unlock()
	if fn, ok := h.wrapped[command]; ok {
		return fn, true
	}
	fn, ok := h.handlers[command]
	if !ok {
		return nil, false
	}
	if len(h.outer)+len(h.own) > 0 {
		fn = chain(fn, h.outer, h.own)
	}
	h.wrapped[command] = fn
	return fn, true
}

// Subscribe listens on subject for as long as the plugin runs.
func (h *Host) Subscribe(subject string, fn eventbus.Handler) error {
	sub, err := h.bus.Subscribe(subject, fn)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.subs = append(h.subs, sub)
	h.mu.Unlock()
	return nil
}

// Go runs fn in a goroutine that the plugin's stop waits for. fn must return
// once ctx (the Host's context) is cancelled. A panic in fn is logged.
func (h *Host) Go(fn func(ctx context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				h.log.Error("plugin goroutine panic recovered", "panic", r)
			}
		}()
		fn(h.ctx)
	}()
}

// Say publishes a chat line (cytube.send.chat) without a channel: the
// connector's, or with several channels the first one (see SayIn).
func (h *Host) Say(ctx context.Context, message string) error {
	return h.bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: message})
}

// SayIn publishes a chat message to one channel (cytube.send.chat with
// its channel): with several channels, Say speaks in the first only.
func (h *Host) SayIn(ctx context.Context, channel, message string) error {
	return h.bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: message, Channel: channel})
}

// PM publishes a private message (cytube.send.pm).
func (h *Host) PM(ctx context.Context, to, message string) error {
	return h.bus.Publish(ctx, protocol.SendPM, protocol.SendPMRequest{To: to, Message: message})
}

// shutdown cancels the Host's context, ends its subscriptions and waits
// for its goroutines.
func (h *Host) shutdown(ctx context.Context) error {
	h.cancel()
	h.mu.Lock()
	subs := h.subs
	h.subs = nil
	h.mu.Unlock()
	var errs []error
	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil {
			errs = append(errs, err)
		}
	}
	// One round trip: once the server has the unsubscriptions, a stopped
	// plugin is unreachable.
	if len(subs) > 0 {
		if err := h.bus.Flush(ctx); err != nil && !errors.Is(err, eventbus.ErrClosed) {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("plugin %s: goroutines still running: %w", h.name, ctx.Err()))
	}
	return errors.Join(errs...)
}
