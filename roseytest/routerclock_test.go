package roseytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/roseytest"
)

// poker answers !poke at once; !poke has a one-hour cooldown.
type poker struct{}

func (poker) Info() plugin.Info {
	return plugin.Info{Name: "poker", Version: "1.0.0", Commands: []plugin.Command{{Name: "poke", Cooldown: time.Hour}}}
}

func (poker) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("poke", func(context.Context, *plugin.Request) (string, error) { return "👉 poked", nil })
	return nil
}

func (poker) Stop(context.Context) error { return nil }

// slowpoke never answers !wait (until the test ends). It is a plugin of
// its own: a plugin handles its commands one at a time.
type slowpoke struct{ release chan struct{} }

func (slowpoke) Info() plugin.Info {
	return plugin.Info{Name: "slowpoke", Version: "1.0.0", Commands: []plugin.Command{{Name: "wait"}}}
}

func (s slowpoke) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("wait", func(ctx context.Context, _ *plugin.Request) (string, error) {
		select {
		case <-s.release:
		case <-ctx.Done():
		}
		return "too late", nil
	})
	return nil
}

func (slowpoke) Stop(context.Context) error { return nil }

func newSlowpoke(t *testing.T) slowpoke {
	s := slowpoke{release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	return s
}

// The router's cooldowns run on the harness's clock: an hour passes
// without sleeping.
func TestCooldownOnTheClock(t *testing.T) {
	clock := roseytest.NewClock(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithPlugins(poker{}, newSlowpoke(t)), roseytest.WithClock(clock))
	h.Say("alice", "!poke")
	h.Expect("👉 poked")
	h.Say("alice", "!poke")
	h.Expect("⏳ alice, wait 1h0m0s before using that again.")
	clock.Advance(59 * time.Minute)
	h.Say("alice", "!poke")
	h.ExpectNone() // still cooling down; told once already
	clock.Advance(time.Minute)
	h.Say("alice", "!poke")
	h.Expect("👉 poked")
}

// The router's timeout runs on the harness's clock too: a plugin that
// never answers times out when the test moves the clock, not before.
func TestTimeoutOnTheClock(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithPlugins(poker{}, newSlowpoke(t)), roseytest.WithClock(clock))
	h.Say("alice", "!wait")
	is.True(clock.WaitTimers(1)) // the router's deadline for the command
	h.Say("bob", "!poke")
	h.Expect("👉 poked") // bob does not wait for alice's plugin
	clock.Advance(4 * time.Second)
	h.Say("bob", "!poke")
	h.Expect("⏳ bob, wait 59m56s") // four seconds of the clock went by
	clock.Advance(time.Second)
	h.Expect("⏱️ slowpoke did not answer in time. Try again later.")
}
