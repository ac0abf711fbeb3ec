package countdown_test

import (
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/countdown"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// t0 is a Thursday.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, clk *clock, opts ...roseytest.Option) *roseytest.Harness {
	p := countdown.New(countdown.Config{Now: clk.Now, CheckInterval: countdown.Duration(10 * time.Millisecond)})
	return roseytest.New(t, append([]roseytest.Option{roseytest.WithPlugins(p)}, opts...)...)
}

func TestOneOffWithAlerts(t *testing.T) {
	clk := &clock{t: t0}
	h := newHarness(t, clk)
	h.Say("alice", "!countdown party in 2h30m")
	h.Expect("✅ Countdown party set for Thu 2026-01-01 14:30 UTC (in 2h 30m)")
	h.Say("bob", "!countdown party")
	h.Expect("⏳ party: 2h 30m left (Thu 2026-01-01 14:30 UTC)")

	clk.Set(t0.Add(2*time.Hour + 20*time.Minute))
	if r := h.Expect("⏰ party in 10m! (Thu 2026-01-01 14:30 UTC)"); r.Channel != roseytest.Channel {
		t.Fatalf("alert said in %q, want the countdown's channel %q", r.Channel, roseytest.Channel)
	}
	clk.Set(t0.Add(2*time.Hour + 29*time.Minute + 30*time.Second))
	h.Expect("⏰ party in 30s!")
	clk.Set(t0.Add(2*time.Hour + 31*time.Minute))
	h.Expect("🎉 party: it's time!")
	h.Say("bob", "!countdown party")
	h.Expect("❌ No countdown named party.")
	h.Say("bob", "!countdown list")
	h.Expect("📭 No countdowns.")
}

func TestWhenFormats(t *testing.T) {
	clk := &clock{t: t0}
	h := newHarness(t, clk)
	for line, want := range map[string]string{
		"!countdown xmas 2026-12-24 18:00":     "✅ Countdown xmas set for Thu 2026-12-24 18:00 UTC (in 357d 6h)",
		"!countdown eve 2026-01-02":            "✅ Countdown eve set for Fri 2026-01-02 00:00 UTC (in 12h)",
		"!countdown late today 21:15":          "✅ Countdown late set for Thu 2026-01-01 21:15 UTC (in 9h 15m)",
		"!countdown movie tomorrow 20:00 UTC":  "✅ Countdown movie set for Fri 2026-01-02 20:00 UTC (in 1d 8h)",
		"!countdown trip in 1w2d":              "✅ Countdown trip set for Sat 2026-01-10 12:00 UTC (in 9d)",
		"!countdown fri friday 19:00":          "✅ Countdown fri set for Fri 2026-01-02 19:00 UTC (in 1d 7h)",
		"!countdown weekly every friday 19:00": "✅ Countdown weekly set for Fri 2026-01-02 19:00 UTC, every friday 19:00 (in 1d 7h)",
		"!countdown daily every day 08:00":     "✅ Countdown daily set for Fri 2026-01-02 08:00 UTC, every day 08:00 (in 20h)",
	} {
		h.Say("alice", line)
		h.Expect(want)
	}
	h.Say("alice", "!countdown list")
	h.Expect("⏳ Countdowns: late in 9h 15m · eve in 12h · daily in 20h (every day 08:00) · fri in 1d 7h · weekly in 1d 7h (every friday 19:00) · movie in 1d 8h · trip in 9d · xmas in 357d 6h")
}

func TestRecurring(t *testing.T) {
	clk := &clock{t: t0}
	h := newHarness(t, clk)
	h.Say("alice", "!countdown weekly every fri 19:00")
	h.Expect("✅ Countdown weekly set for Fri 2026-01-02 19:00 UTC, every friday 19:00")
	clk.Set(time.Date(2026, 1, 2, 18, 59, 0, 0, time.UTC))
	h.Expect("⏰ weekly in 1m!") // the 10m alert is old news
	clk.Set(time.Date(2026, 1, 2, 19, 0, 0, 0, time.UTC))
	h.Expect("🎉 weekly: it's time! Next: Fri 2026-01-09 19:00 UTC")
	h.Say("alice", "!countdown weekly")
	h.Expect("⏳ weekly: 7d left (Fri 2026-01-09 19:00 UTC, every friday 19:00)")
	clk.Set(time.Date(2026, 1, 9, 18, 50, 0, 0, time.UTC))
	h.Expect("⏰ weekly in 10m!")
}

func TestDeletePermissions(t *testing.T) {
	clk := &clock{t: t0}
	h := newHarness(t, clk)
	h.SetRank("mod", protocol.RankModerator)
	h.Say("alice", "!countdown a1 in 1h")
	h.Expect("✅")
	h.Say("alice", "!countdown b2 in 2h")
	h.Expect("✅")
	h.Say("alice", "!countdown a1 in 3h")
	h.Expect("❌ There is already a countdown named a1. Delete it first.")
	h.Say("bob", "!countdown delete a1")
	h.Expect("⛔ Only alice (who created it) or a moderator can delete a1.")
	h.Say("Alice", "!countdown delete A1")
	h.Expect("🗑️ Deleted countdown a1")
	h.Say("mod", "!countdown del b2")
	h.Expect("🗑️ Deleted countdown b2")
	h.Say("mod", "!countdown delete b2")
	h.Expect("❌ No countdown named b2.")
}

func TestBadArguments(t *testing.T) {
	clk := &clock{t: t0}
	h := newHarness(t, clk)
	for line, want := range map[string]string{
		"!countdown":                        "❌ Usage: !countdown <name> [<when>] | list | delete <name>",
		"!countdown list all":               "❌ Usage: !countdown",
		"!countdown delete":                 "❌ Usage: !countdown delete <name>",
		"!countdown /kick in 2h":            "❌ A countdown name is 1-32 letters",
		"!countdown in 2h":                  "❌ A countdown name is 1-32 letters",
		"!countdown x in soon":              "❌ I can't read that time.",
		"!countdown x 2026-13-40 10:00":     "❌ I can't read that time.",
		"!countdown x tomorrow 25:00":       "❌ I can't read that time.",
		"!countdown x every blursday 10:00": "❌ I can't read that time.",
		"!countdown x in -2h":               "❌ I can't read that time.",
		"!countdown x 2020-01-01 10:00":     "❌ That time (Wed 2020-01-01 10:00 UTC) has already passed.",
		"!countdown x today 08:00":          "❌ That time (Thu 2026-01-01 08:00 UTC) has already passed.",
		"!countdown x in 5000w":             "❌ I can't read that time.",
		"!countdown x in 530w":              "❌ That is too far ahead",
		"!countdown nothing":                "❌ No countdown named nothing. Create one with !countdown nothing <when>",
	} {
		h.Say("alice", line)
		h.Expect(want)
	}
	h.Say("alice", "!countdown list")
	h.Expect("📭 No countdowns.")
}

func TestResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	withDir := roseytest.WithConfig(func(c *rosey.Config) { c.Database.Dir = dir })
	clk := &clock{t: t0}
	t.Run("first", func(t *testing.T) {
		h := newHarness(t, clk, withDir)
		h.Say("alice", "!countdown launch in 2h")
		h.Expect("✅ Countdown launch set")
		h.Say("alice", "!countdown soon in 20m")
		h.Expect("✅ Countdown soon set")
		clk.Set(t0.Add(10 * time.Minute))
		h.Expect("⏰ soon in 10m!")
	})
	// Down for a while: the 10m alert of "soon" was said and is not repeated,
	// its 1m alert is due now.
	clk.Set(t0.Add(19*time.Minute + 30*time.Second))
	h := newHarness(t, clk, withDir)
	h.Expect("⏰ soon in 30s!")
	clk.Set(t0.Add(20 * time.Minute))
	h.Expect("🎉 soon: it's time!")
	h.Say("bob", "!countdown list")
	h.Expect("⏳ Countdowns: launch in 1h 40m")
	clk.Set(t0.Add(2 * time.Hour))
	h.Expect("🎉 launch: it's time!")
}

// On the harness's Clock, with the plugin's defaults (no Now, a check
// every second): the alerts come as the test moves the clock.
func TestAlertsOnTheHarnessClock(t *testing.T) {
	clk := roseytest.NewClock(t0)
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(countdown.New(countdown.Config{})))
	h.Say("alice", "!countdown party in 2h30m")
	h.Expect("✅ Countdown party set for Thu 2026-01-01 14:30 UTC (in 2h 30m)")
	clk.WaitTimers(1) // the plugin's check
	clk.Advance(2*time.Hour + 20*time.Minute)
	h.Expect("⏰ party in 10m! (Thu 2026-01-01 14:30 UTC)")
	clk.WaitTimers(1)
	clk.Advance(10 * time.Minute)
	h.Expect("🎉 party: it's time!")
}
