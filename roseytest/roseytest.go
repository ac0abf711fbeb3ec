package roseytest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// DefaultTimeout is how long Expect waits for a reply.
const DefaultTimeout = 10 * time.Second

// Channel is the channel name put in the harness's chat events.
const Channel = "test"

// Reply is one message the bot sent: to the channel, or by PM.
type Reply struct {
	// PM is true for a private message, sent To a user.
	PM      bool
	To      string
	Message string
	Channel string
	// CorrelationID ties the reply to the line that caused it.
	CorrelationID string
}

func (r Reply) String() string {
	if r.PM {
		return fmt.Sprintf("PM to %s: %q", r.To, r.Message)
	}
	return fmt.Sprintf("chat: %q", r.Message)
}

// Option changes the harness's bot configuration.
type Option func(*rosey.Config)

// WithPlugins runs plugins in the harness's bot.
func WithPlugins(ps ...plugin.Plugin) Option {
	return func(c *rosey.Config) { c.Plugins = append(c.Plugins, ps...) }
}

// WithPluginConfig sets a plugin's config section; cfg is marshalled to JSON.
func WithPluginConfig(name string, cfg any) Option {
	return func(c *rosey.Config) {
		raw, err := json.Marshal(cfg)
		if err != nil {
			panic(fmt.Sprintf("roseytest: plugin config for %s: %v", name, err))
		}
		if c.PluginConfig == nil {
			c.PluginConfig = map[string]json.RawMessage{}
		}
		c.PluginConfig[name] = raw
	}
}

// WithConfig edits the bot's configuration directly (router settings,
// admins, a listening NATS server for external plugins, …).
func WithConfig(fn func(*rosey.Config)) Option { return fn }

// WithLogLevel sets the least level of the bot's records written to the
// test's log (default slog.LevelInfo). A Logger set in rosey.Config
// replaces the test's log.
func WithLogLevel(level slog.Level) Option {
	return func(c *rosey.Config) { c.Logger = slog.New(newTestLogLevel(level)) }
}

// WithClock runs the plugins on c: their Host.Clock, timers and
// schedules move only when the test calls c.Advance.
func WithClock(c *Clock) Option { return func(cfg *rosey.Config) { cfg.Clock = c } }

// WithoutDatabase runs no database service.
func WithoutDatabase() Option { return func(c *rosey.Config) { c.Database.Disabled = true } }

// Harness is a real bot core for tests: an in-process NATS server, the
// database service on SQLite in a temporary directory, the plugin manager
// and the router, with the harness standing in for the CyTube connector.
// Everything stops when the test ends.
type Harness struct {
	t       testing.TB
	bot     *rosey.Bot
	bus     *eventbus.Bus
	prefix  string
	replies chan Reply
	timeout time.Duration
	// routerTimeout is how long the router waits for a plugin.
	routerTimeout time.Duration
	// log writes the bot's records to the test's log; nil when the
	// options gave a Logger of their own.
	log *testLog

	mu    sync.Mutex
	ranks map[string]float64
	probe int
}

// New starts a harness bot with the given options.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	cfg := rosey.Config{Components: rosey.CoreComponents()} // the harness is the connector
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	cfg.Router.HintEvery = rosey.Duration(time.Hour)
	cfg.Logger = slog.New(newTestLogLevel(slog.LevelInfo))
	for _, o := range opts {
		o(&cfg)
	}
	var tlog *testLog
	if pending, ok := cfg.Logger.Handler().(*pendingTestLog); ok {
		tlog = newTestLog(t, pending.level)
		cfg.Logger = slog.New(tlog)
	}
	cfg.Plugins = append(cfg.Plugins, probePlugin{})
	h := &Harness{t: t, replies: make(chan Reply, 1024), timeout: DefaultTimeout, ranks: map[string]float64{}, prefix: cfg.Router.Prefix,
		routerTimeout: time.Duration(cfg.Router.Timeout), log: tlog}
	if h.routerTimeout == 0 {
		h.routerTimeout = router.DefaultTimeout
	}
	if h.prefix == "" {
		h.prefix = "!"
	}
	// Listen before any plugin starts: a plugin may speak at once (a timer
	// that came due while the bot was down).
	userHook := cfg.OnBus
	cfg.OnBus = func(ctx context.Context, bus *eventbus.Bus) error {
		if userHook != nil {
			if err := userHook(ctx, bus); err != nil {
				return err
			}
		}
		// One subscription for both subjects keeps chat lines and PMs in
		// the order they were published.
		if _, err := bus.Subscribe("cytube.send.*", h.collect); err != nil {
			return fmt.Errorf("roseytest: subscribe: %w", err)
		}
		return bus.Flush(ctx)
	}
	h.bot = rosey.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.bot.Start(ctx); err != nil {
		if tlog != nil {
			tlog.end()
		}
		t.Fatalf("roseytest: start bot: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.bot.Stop(ctx); err != nil {
			t.Errorf("roseytest: stop bot: %v", err)
		}
		if tlog != nil {
			tlog.end()
		}
	})
	h.bus = h.bot.Bus()
	return h
}

func (h *Harness) collect(_ context.Context, ev *eventbus.Event) {
	r := Reply{CorrelationID: ev.CorrelationID}
	if ev.Subject == protocol.SendPM {
		var pm protocol.SendPMRequest
		if err := ev.Decode(&pm); err != nil {
			h.t.Errorf("roseytest: bot sent a malformed PM: %v", err)
			return
		}
		r.PM, r.To, r.Message, r.Channel = true, pm.To, pm.Message, pm.Channel
	} else if ev.Subject == protocol.SendChat {
		var c protocol.SendChatRequest
		if err := ev.Decode(&c); err != nil {
			h.t.Errorf("roseytest: bot sent a malformed chat line: %v", err)
			return
		}
		r.Message, r.Channel = c.Message, c.Channel
	} else {
		return
	}
	select {
	case h.replies <- r:
	default:
		h.t.Errorf("roseytest: more than %d unread replies; dropping %v", cap(h.replies), r)
	}
}

// fail fails the test with msg and the bot's warnings and errors since the
// last expectation that was met (a plugin's error, most often, is why).
func (h *Harness) fail(format string, args ...any) {
	h.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if h.log != nil {
		if p := h.log.takeProblems(); len(p) > 0 {
			msg += "\nthe bot logged meanwhile:\n\t" + strings.Join(p, "\n\t")
		}
	}
	h.t.Fatalf("%s", msg)
}

// met forgets the warnings and errors logged so far: they led to a reply
// the test expected.
func (h *Harness) met() {
	if h.log != nil {
		h.log.takeProblems()
	}
}

// Bot returns the bot under test.
func (h *Harness) Bot() *rosey.Bot { return h.bot }

// Bus returns the bot's event bus.
func (h *Harness) Bus() *eventbus.Bus { return h.bus }

// ClientConfig returns how a plugin in a process of its own reaches the
// harness's bot (with a listening server: roseytest.WithConfig setting
// NATS.Embedded.NoListen false): its URL and the credentials the bot
// generated. Pass it to plugin.ServeContext as ServeConfig.Bus.
func (h *Harness) ClientConfig() eventbus.Config { return h.bot.ClientConfig() }

// ClientEnv is ClientConfig as the environment a plugin binary reads
// (ROSEY_NATS_URL, ROSEY_NATS_NKEY, …), for exec.Cmd.Env.
func (h *Harness) ClientEnv() []string { return supervisor.BusEnv(h.bot.ClientConfig()) }

// DB returns a database client on the bot's bus.
func (h *Harness) DB() *database.Client { return database.NewClient(h.bus) }

// SetTimeout changes how long Expect waits.
func (h *Harness) SetTimeout(d time.Duration) { h.timeout = d }

// SetRank gives user a CyTube rank for the lines the harness sends as them
// (default 0, a guest).
func (h *Harness) SetRank(user string, rank float64) {
	h.mu.Lock()
	h.ranks[strings.ToLower(user)] = rank
	h.mu.Unlock()
}

func (h *Harness) rank(user string) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ranks[strings.ToLower(user)]
}

// Say publishes line as said by user in the channel (cytube.chat) and
// returns the event's correlation id.
func (h *Harness) Say(user, line string) string { return h.send(protocol.Chat, user, line) }

// PM publishes line as a private message from user to the bot (cytube.pm).
func (h *Harness) PM(user, line string) string { return h.send(protocol.PM, user, line) }

func (h *Harness) send(subject, user, line string) string {
	h.t.Helper()
	id := eventbus.NewCorrelationID()
	msg := protocol.ChatMessage{User: user, Message: line, Channel: Channel, Rank: h.rank(user), Time: time.Now().UnixMilli()}
	if err := h.bus.Publish(context.Background(), subject, msg, eventbus.WithCorrelation(id)); err != nil {
		h.t.Fatalf("roseytest: publish %s: %v", subject, err)
	}
	return id
}

// Next returns the next reply, failing the test if none comes in time.
func (h *Harness) Next() Reply {
	h.t.Helper()
	select {
	case r := <-h.replies:
		return r
	case <-time.After(h.timeout):
		h.fail("roseytest: no reply within %s", h.timeout)
		return Reply{}
	}
}

// Expect returns the next reply and fails the test unless it is a channel
// message containing want.
func (h *Harness) Expect(want string) Reply {
	h.t.Helper()
	r := h.Next()
	if r.PM || !strings.Contains(r.Message, want) {
		h.fail("roseytest: want a chat reply containing %q, got %v", want, r)
	}
	h.met()
	return r
}

// ExpectPM returns the next reply and fails the test unless it is a PM to
// user containing want.
func (h *Harness) ExpectPM(user, want string) Reply {
	h.t.Helper()
	r := h.Next()
	if !r.PM || !protocol.SameUser(r.To, user) || !strings.Contains(r.Message, want) {
		h.fail("roseytest: want a PM to %s containing %q, got %v", user, want, r)
	}
	h.met()
	return r
}

// ExpectNone fails the test if the bot sent anything in answer to the
// lines said so far. It sends a probe command through the router, waits
// until the router owes no answer (a command still waiting for its plugin
// is waited for, up to the router's timeout), then probes again: every
// answer the router published before that comes before the second probe's.
// Messages a plugin publishes on its own schedule (timers) are not
// covered. The probe is a command of a plugin of the harness's own, so
// middleware in rosey.Config.Middleware sees it too; the probe's answer is
// recognised even when middleware decorates it.
func (h *Harness) ExpectNone() {
	h.t.Helper()
	h.expectProbe()
	if rt := h.bot.Router(); rt != nil {
		deadline := time.Now().Add(h.routerTimeout + h.timeout)
		for rt.Waiting() > 0 {
			if time.Now().After(deadline) {
				h.fail("roseytest: the router still owes %d answers after %s", rt.Waiting(), h.routerTimeout+h.timeout)
			}
			time.Sleep(time.Millisecond)
		}
		h.expectProbe()
	}
}

// expectProbe says a probe command and fails unless its answer is the
// next reply.
func (h *Harness) expectProbe() {
	h.t.Helper()
	h.mu.Lock()
	h.probe++
	n := h.probe
	h.mu.Unlock()
	token := fmt.Sprintf("roseytest-probe-%d", n)
	h.Say(probeUser, h.prefix+probeCommand+" "+token)
	r := h.Next()
	if r.PM || !strings.Contains(r.Message, token) {
		h.fail("roseytest: want no reply, got %v", r)
	}
}

const (
	probeUser    = "roseytest-probe"
	probeCommand = "roseytest-probe"
)

// probePlugin echoes its argument; ExpectNone uses it as a barrier.
type probePlugin struct{}

func (probePlugin) Info() plugin.Info {
	return plugin.Info{Name: "roseytest", Version: "1.0.0", Description: "roseytest's barrier for ExpectNone",
		Commands: []plugin.Command{{Name: probeCommand, Usage: "<token>"}}}
}

func (probePlugin) Start(_ context.Context, h *plugin.Host) error {
	h.Handle(probeCommand, func(_ context.Context, req *plugin.Request) (string, error) { return req.Text, nil })
	return nil
}

func (probePlugin) Stop(context.Context) error { return nil }
