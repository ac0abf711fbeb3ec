package seen_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func start(t *testing.T, c *clock, opts ...roseytest.Option) *roseytest.Harness {
	opts = append([]roseytest.Option{roseytest.WithPlugins(seen.New(seen.Config{Now: c.Now}))}, opts...)
	return roseytest.New(t, opts...)
}

func publish(t *testing.T, h *roseytest.Harness, subject string, data any) {
	t.Helper()
	if err := h.Bus().Publish(context.Background(), subject, data); err != nil {
		t.Fatal(err)
	}
}

func TestLastLineAndCaseInsensitiveNames(t *testing.T) {
	c := newClock()
	h := start(t, c)
	h.Say("alice", "!seen bob")
	h.Expect("🤷 I have not seen bob.")
	h.Say("Bob", "hello there")
	h.Say("alice", "!seen bob") // waits for the lines said before it
	h.Expect(`👀 Bob is here now. Last said just now: "hello there"`)
	c.Add(3*time.Hour + 12*time.Minute + 5*time.Second)
	h.Say("alice", "!seen BOB")
	h.Expect(`👀 Bob is here now. Last said 3h 12m ago: "hello there"`)
	h.PM("carol", "!seen @bob")
	h.ExpectPM("carol", `Last said 3h 12m ago: "hello there"`)
	h.ExpectNone()
}

func TestJoinAndLeave(t *testing.T) {
	c := newClock()
	h := start(t, c)
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "dave", Channel: roseytest.Channel, Rank: 1})
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "erin", Channel: roseytest.Channel})
	h.Say("erin", "brb")
	publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "erin", Channel: roseytest.Channel})
	// A !seen line is a barrier: the plugin answers it after storing what
	// came before it, so the clock can move on afterwards.
	h.Say("alice", "!seen erin")
	h.Expect(`👀 erin was last seen just now, leaving. Last said just now: "brb"`)
	c.Add(2*24*time.Hour + 4*time.Hour + 59*time.Second)
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave is here now.")
	h.Say("alice", "!seen erin")
	h.Expect(`👀 erin was last seen 2d 4h ago, leaving. Last said 2d 4h ago: "brb"`)

	// After a (re)connect, CyTube re-announces who is present: whoever
	// is not re-announced is no longer here.
	publish(t, h, protocol.Connection, protocol.ConnectionEvent{Channel: roseytest.Channel, State: protocol.StateConnected})
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave was last seen 2d 4h ago.")
}

func TestBadArguments(t *testing.T) {
	h := start(t, newClock())
	h.Say("alice", "!seen")
	h.Expect("❌ Usage: !seen <user>")
	h.Say("alice", "!seen two names")
	h.Expect("❌ Usage: !seen <user>")
	h.Say("alice", "!seen Alice")
	h.Expect("👋 alice, you are right here!")
}

func TestSurvivesRestart(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	c := newClock()
	useDir := roseytest.WithConfig(func(cfg *rosey.Config) { cfg.Database.Dir = dir })
	t.Run("first bot", func(t *testing.T) {
		h := start(t, c, useDir)
		h.Say("frank", "see you tomorrow")
		publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "frank"})
		h.Say("alice", "!seen frank") // also a barrier: the lines above are stored
		h.Expect("👀 frank was last seen just now, leaving.")
	})
	c.Add(20 * time.Hour)
	t.Run("second bot", func(t *testing.T) {
		h := start(t, c, useDir)
		h.Say("alice", "!seen Frank")
		r := h.Expect(`👀 frank was last seen 20h ago, leaving. Last said 20h ago: "see you tomorrow"`)
		is.Equal(r.Channel, roseytest.Channel)
	})
}

// With no Now of its own, the plugin tells the time by the Host's clock,
// which the test moves with roseytest.Clock.
func TestSeenOnTheHarnessClock(t *testing.T) {
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})))
	h.Say("dave", "off to bed")
	h.Say("alice", "!seen dave")
	h.Expect(`Last said just now: "off to bed"`)
	clk.Advance(3*24*time.Hour + 2*time.Hour)
	h.Say("alice", "!seen dave")
	h.Expect(`Last said 3d 2h ago: "off to bed"`)
}
