package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/router"
)

// never holds every command until the test ends.
type never struct{ release chan struct{} }

func (never) Info() plugin.Info {
	return plugin.Info{Name: "never", Version: "1.0.0", Commands: []plugin.Command{{Name: "never"}}}
}

func (n never) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("never", func(ctx context.Context, _ *plugin.Request) (string, error) {
		select {
		case <-n.release:
		case <-ctx.Done():
		}
		return "too late", nil
	})
	return nil
}

func (never) Stop(context.Context) error { return nil }

func newNever(t *testing.T) never {
	n := never{release: make(chan struct{})}
	t.Cleanup(func() { close(n.release) })
	return n
}

// When more commands wait than MaxConcurrent, a new one is refused at once
// with a notice (once per user per HintEvery), counted, and the router
// goes on answering once there is room; it never stalls the lines behind.
func TestOverloadIsRefusedAtOnce(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{MaxConcurrent: 2, Timeout: 3 * time.Second}, newNever(t), echo{})
	r.say("alice", "!never")
	r.say("bob", "!never")
	r.say("carol", "!echo one")
	r.say("carol", "!echo two") // refused without a second notice
	r.say("dave", "!echo three")
	rep := r.next()
	is.Equal(rep.Message, "⏳ I'm busy: too many commands are waiting. Try again in a moment.")
	rep = r.next()
	is.Equal(rep.Message, "⏳ I'm busy: too many commands are waiting. Try again in a moment.") // dave's
	is.Equal(r.router.Refused(), uint64(3))
	// The held commands time out at their deadline; then there is room.
	r.expect("⏱️ never did not answer in time.")
	r.expect("⏱️ never did not answer in time.")
	r.say("carol", "!echo four")
	r.expect(`carol said "four"`)
}

// One user's flood does not fill the bound for everyone: past MaxPerUser
// that user is refused and the others are answered.
func TestOneUsersFloodIsBoundedPerUser(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{MaxPerUser: 2, Timeout: 3 * time.Second}, newNever(t), echo{})
	for range 10 {
		r.say("mallory", "!never")
	}
	r.say("bob", "!echo fine")
	is.Equal(r.next().Message, "⏳ mallory, your earlier commands are still running. Try again in a moment.")
	r.expect(`bob said "fine"`)
	is.Equal(r.router.Refused(), uint64(8))
}

// An unknown command starts a rediscovery sweep without blocking the
// router: a command said right after, by someone else, is answered first.
func TestUnknownCommandDoesNotHoldOthers(t *testing.T) {
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []plugin.Plugin{echo{}, barrierPlugin{}} {
		if err := m.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	r := startRig(t, srv, bus, m.Directory(), router.Config{})
	r.say("alice", "!nosuchthing") // a sweep waits for plugins to answer
	r.say("bob", "!echo right away")
	r.expect(`bob said "right away"`)
	r.expect("❓ Unknown command !nosuchthing")
}

// A PM always gets an answer to an unknown command; in chat the hint is
// limited to one per user per HintEvery.
func TestUnknownCommandByPMAlwaysAnswered(t *testing.T) {
	r := newRig(t, router.Config{}, echo{})
	for _, w := range []string{"one", "two", "three"} {
		r.pm("alice", "!"+w)
		if rep := r.next(); !rep.PM || !strings.Contains(rep.Message, "Unknown command !"+w) {
			t.Fatalf("want a PM about !%s, got %v", w, rep)
		}
	}
	r.say("alice", "!four")
	r.expect("Unknown command !four")
	r.say("alice", "!five")
	r.expectNone()
}

// big answers with as many characters as its argument says.
type big struct{}

func (big) Info() plugin.Info {
	return plugin.Info{Name: "big", Version: "1.0.0", Commands: []plugin.Command{{Name: "big"}}}
}

func (big) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("big", func(_ context.Context, r *plugin.Request) (string, error) {
		if r.Text == "error" {
			return "", plugin.UserError("%s", strings.Repeat("é", 200_000))
		}
		return strings.Repeat("é", 200_000), nil
	})
	return nil
}

func (big) Stop(context.Context) error { return nil }

// An answer longer than MaxAnswer characters is cut, ending with "…".
func TestLongAnswersAreCut(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{MaxAnswer: 100}, big{})
	for _, arg := range []string{"", "error"} {
		r.say("alice", "!big "+arg)
		rep := r.next()
		is.Equal(len([]rune(rep.Message)), 100)
		is.True(strings.HasSuffix(rep.Message, "…"))
	}
}
