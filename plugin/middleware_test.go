package plugin_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/logtest"
	"github.com/roseybot/rosey/plugin"
)

// mwPlugin has two commands, one registered before and one after its
// Start calls Use.
type mwPlugin struct {
	use  []plugin.Middleware
	note func(string)
}

func (mwPlugin) Info() plugin.Info {
	return plugin.Info{Name: "mw", Version: "1.0.0", Commands: []plugin.Command{{Name: "early"}, {Name: "late"}, {Name: "slow"}, {Name: "fail"}}}
}

func (p mwPlugin) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("early", func(context.Context, *plugin.Request) (string, error) { p.note("early"); return "early done", nil })
	h.Use(p.use...)
	h.Handle("late", func(context.Context, *plugin.Request) (string, error) { p.note("late"); return "late done", nil })
	h.Handle("fail", func(context.Context, *plugin.Request) (string, error) { return "", errors.New("disk on fire") })
	h.Handle("slow", func(ctx context.Context, _ *plugin.Request) (string, error) {
		<-ctx.Done() // gives up when its context ends, as a database call does
		return "", ctx.Err()
	})
	return nil
}

func (mwPlugin) Stop(context.Context) error { return nil }

// trail records what the middleware and handlers saw, in order.
type trail struct {
	mu  sync.Mutex
	got []string
}

func (t *trail) note(s string) { t.mu.Lock(); t.got = append(t.got, s); t.mu.Unlock() }

func (t *trail) take() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.got, " ")
	t.got = nil
	return s
}

func (t *trail) mark(name string) plugin.Middleware {
	return func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			t.note(name + ">")
			text, err := next(ctx, req)
			t.note("<" + name)
			return text, err
		}
	}
}

func TestMiddlewareWrapsEveryCommandBotsOutermost(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	tr := &trail{}
	p := mwPlugin{use: []plugin.Middleware{tr.mark("own1"), tr.mark("own2")}, note: tr.note}
	run(t, bus, plugin.RunConfig{Middleware: []plugin.Middleware{tr.mark("bot")}}, p)
	ctx := context.Background()

	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early", User: "alice"}), "early done")
	is.Equal(tr.take(), "bot> own1> own2> early <own2 <own1 <bot") // registered before Use: wrapped too
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "late", User: "alice"}), "late done")
	is.Equal(tr.take(), "bot> own1> own2> late <own2 <own1 <bot")
}

func TestMiddlewareMayAnswerForThePlugin(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	tr := &trail{}
	refuse := func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			if req.User == "mallory" {
				return "", plugin.UserError("⛔ not you, %s", req.User)
			}
			return next(ctx, req)
		}
	}
	run(t, bus, plugin.RunConfig{}, mwPlugin{use: []plugin.Middleware{refuse}, note: tr.note})
	ctx := context.Background()
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "late", User: "mallory"}), "error: ⛔ not you, mallory")
	is.Equal(tr.take(), "") // the handler never ran
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "late", User: "alice"}), "late done")
}

func TestMiddlewarePanicIsRecovered(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	tr := &trail{}
	boom := func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			if req.Text == "boom" {
				panic("middleware bug")
			}
			return next(ctx, req)
		}
	}
	run(t, bus, plugin.RunConfig{Middleware: []plugin.Middleware{boom}}, mwPlugin{note: tr.note})
	ctx := context.Background()
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early", Text: "boom"}), "error: internal error")
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early"}), "early done") // still serving
}

func TestTimeoutMiddleware(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	run(t, bus, plugin.RunConfig{}, mwPlugin{use: []plugin.Middleware{plugin.Timeout(50 * time.Millisecond)}, note: func(string) {}})
	ctx := context.Background()
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "slow"}), "error: ⚠️ !slow took too long. Try again later.")
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early"}), "early done") // a quick command is untouched
}

func TestLogCommands(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	var buf logtest.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	run(t, bus, plugin.RunConfig{Middleware: []plugin.Middleware{plugin.LogCommands(log), plugin.Timeout(50 * time.Millisecond)}},
		mwPlugin{note: func(string) {}})
	ctx := context.Background()
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early", User: "alice", Source: plugin.SourceChat}), "early done")
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "slow", User: "bob", Source: plugin.SourcePM}), "error: ⚠️ !slow took too long. Try again later.")
	is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "fail", User: "carol"}), "error: internal error")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	is.Equal(len(lines), 3)
	is.True(strings.Contains(lines[0], "level=INFO") && strings.Contains(lines[0], "command=early") && strings.Contains(lines[0], "user=alice") && strings.Contains(lines[0], "source=chat"))
	// A user error (here the timeout's) is the user's to read, not a warning.
	is.True(strings.Contains(lines[1], "level=INFO") && strings.Contains(lines[1], "command=slow") && strings.Contains(lines[1], "took too long"))
	is.True(strings.Contains(lines[2], "level=WARN") && strings.Contains(lines[2], "command=fail") && strings.Contains(lines[2], "disk on fire"))
}

// ServeConfig.Middleware wraps the commands of a plugin served on its own
// connection, as an external plugin process runs.
func TestServeContextMiddleware(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	tr := &trail{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- plugin.ServeContext(ctx, mwPlugin{use: []plugin.Middleware{tr.mark("own")}, note: tr.note},
			plugin.ServeConfig{Bus: srv.BusConfig(""), Middleware: []plugin.Middleware{tr.mark("serve")}})
	}()
	defer func() { cancel(); is.NoErr(receive(t, done)) }()
	// Ask until the served plugin is up (it registers asynchronously).
	deadline := time.Now().Add(wait)
	var got string
	for time.Now().Before(deadline) {
		if got = ask(context.Background(), bus, "mw", plugin.Request{Command: "late"}); got == "late done" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	is.Equal(got, "late done")
	is.Equal(tr.take(), "serve> own> late <own <serve")
}

// A middleware that panics while wrapping, or gives back no handler, makes
// the commands fail with an internal error; the plugin keeps serving.
func TestBrokenMiddlewareFailsCommandsNotThePlugin(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	for _, bad := range []plugin.Middleware{
		func(plugin.CommandHandler) plugin.CommandHandler { panic("cannot wrap") },
		func(plugin.CommandHandler) plugin.CommandHandler { return nil },
	} {
		in := run(t, bus, plugin.RunConfig{Middleware: []plugin.Middleware{bad}}, mwPlugin{note: func(string) {}})
		ctx := context.Background()
		is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "early"}), "error: internal error")
		is.Equal(ask(ctx, bus, "mw", plugin.Request{Command: "late"}), "error: internal error") // still answering
		is.NoErr(in.Stop(ctx))
	}
}
