package router_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

const wait = 10 * time.Second

// reply is one message the router sent.
type reply struct {
	PM      bool
	To      string
	Message string
	Channel string
}

func (r reply) String() string {
	if r.PM {
		return fmt.Sprintf("PM to %s: %q", r.To, r.Message)
	}
	return fmt.Sprintf("chat: %q", r.Message)
}

// rig is a bus with a router on it and a recorder of what it sends.
type rig struct {
	t       testing.TB
	srv     *embedded.Server
	bus     *eventbus.Bus
	router  *router.Router
	replies chan reply
	prefix  string
	barrier int
	// speakers are the users who said something since the last drain.
	speakers map[string]bool
}

func startServer(t testing.TB) *embedded.Server { return natstest.StartServer(t) }

func connect(t testing.TB, srv *embedded.Server, name string) *eventbus.Bus {
	return natstest.Connect(t, srv, name)
}

// newRig starts a server, a manager running ps (plus the barrier plugin)
// and a router on its directory. edit changes the router's config.
func newRig(t testing.TB, cfg router.Config, ps ...plugin.Plugin) *rig {
	t.Helper()
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(ps, barrierPlugin{}) {
		if err := m.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	return startRig(t, srv, bus, m.Directory(), cfg)
}

// startRig starts a router on bus with dir (nil: its own) and records replies.
func startRig(t testing.TB, srv *embedded.Server, bus *eventbus.Bus, dir *supervisor.Directory, cfg router.Config) *rig {
	t.Helper()
	r := &rig{t: t, srv: srv, bus: bus, replies: make(chan reply, 1024), prefix: cfg.Prefix}
	if r.prefix == "" {
		r.prefix = router.DefaultPrefix
	}
	if cfg.HintEvery == 0 {
		cfg.HintEvery = time.Hour
	}
	rt, err := router.New(bus, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Stop(context.Background()) })
	r.router = rt
	// One subscription for both subjects keeps their order.
	if _, err := bus.Subscribe("cytube.send.*", func(_ context.Context, ev *eventbus.Event) {
		var rep reply
		if ev.Subject == protocol.SendPM {
			var pm protocol.SendPMRequest
			if err := ev.Decode(&pm); err != nil {
				t.Errorf("malformed PM: %v", err)
				return
			}
			rep = reply{PM: true, To: pm.To, Message: pm.Message, Channel: pm.Channel}
		} else {
			var c protocol.SendChatRequest
			if err := ev.Decode(&c); err != nil {
				t.Errorf("malformed chat: %v", err)
				return
			}
			rep = reply{Message: c.Message, Channel: c.Channel}
		}
		r.replies <- rep
	}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) send(subject, user, line string) {
	r.t.Helper()
	if r.speakers == nil {
		r.speakers = map[string]bool{}
	}
	r.speakers[user] = true
	msg := protocol.ChatMessage{User: user, Message: line, Channel: "room", Rank: protocol.RankUser}
	if err := r.bus.Publish(context.Background(), subject, msg); err != nil {
		r.t.Fatalf("publish: %v", err)
	}
}

func (r *rig) say(user, line string) { r.t.Helper(); r.send(protocol.Chat, user, line) }
func (r *rig) pm(user, line string)  { r.t.Helper(); r.send(protocol.PM, user, line) }

func (r *rig) next() reply {
	r.t.Helper()
	select {
	case rep := <-r.replies:
		return rep
	case <-time.After(wait):
		r.t.Fatalf("no reply within %s", wait)
		return reply{}
	}
}

func (r *rig) expect(want string) reply {
	r.t.Helper()
	rep := r.next()
	if rep.PM || !strings.Contains(rep.Message, want) {
		r.t.Fatalf("want a chat reply containing %q, got %v", want, rep)
	}
	return rep
}

// drain has every user who spoke since the last drain say a barrier
// command, and returns everything answered before the barriers' own
// answers: the router answers each user in the order they spoke, so that
// is all that was owed to the lines said before.
func (r *rig) drain() []reply {
	r.t.Helper()
	tokens := map[string]bool{}
	users := r.speakers
	if users == nil {
		users = map[string]bool{}
	}
	users["barrier-user"] = true
	for user := range users {
		if user == "" {
			continue // never routed
		}
		r.barrier++
		token := fmt.Sprintf("barrier-%d", r.barrier)
		tokens[token] = true
		r.say(user, r.prefix+"barrier "+token)
	}
	r.speakers = nil
	var got []reply
	for len(tokens) > 0 {
		rep := r.next()
		if tokens[rep.Message] {
			delete(tokens, rep.Message)
			continue
		}
		got = append(got, rep)
	}
	return got
}

// expectNone fails if anything was answered to the lines said so far.
func (r *rig) expectNone() {
	r.t.Helper()
	if got := r.drain(); len(got) > 0 {
		r.t.Fatalf("want no reply, got %v", got)
	}
}

// barrierPlugin echoes its text; drain uses it.
type barrierPlugin struct{}

func (barrierPlugin) Info() plugin.Info {
	return plugin.Info{Name: "barrier", Version: "1.0.0", Commands: []plugin.Command{{Name: "barrier"}}}
}

func (barrierPlugin) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("barrier", func(_ context.Context, req *plugin.Request) (string, error) { return req.Text, nil })
	return nil
}

func (barrierPlugin) Stop(context.Context) error { return nil }

// echo answers !echo with who said what, where.
type echo struct{}

func (echo) Info() plugin.Info {
	return plugin.Info{Name: "echo", Version: "1.0.0", Commands: []plugin.Command{{Name: "echo", Aliases: []string{"say"}}}}
}

func (echo) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("echo", func(_ context.Context, req *plugin.Request) (string, error) {
		return fmt.Sprintf("%s said %q via %s (args %d)", req.User, req.Text, req.Source, len(req.Args)), nil
	})
	return nil
}

func (echo) Stop(context.Context) error { return nil }
