package roseytest_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/roseytest"
)

// chime says "🔔 N" every hour, and "!remind <minutes> <text>" says the
// text that many minutes later: a plugin on the Host's scheduler.
type chime struct{ n atomic.Int64 }

func (*chime) Info() plugin.Info {
	return plugin.Info{Name: "chime", Version: "1.0.0", Commands: []plugin.Command{{Name: "remind", Usage: "<minutes> <text>"}}}
}

func (c *chime) Start(_ context.Context, h *plugin.Host) error {
	h.Every(time.Hour, func(ctx context.Context) {
		_ = h.Say(ctx, fmt.Sprintf("🔔 %d", c.n.Add(1)))
	})
	h.Handle("remind", func(_ context.Context, req *plugin.Request) (string, error) {
		if len(req.Args) < 2 {
			return "", plugin.Usage(plugin.Command{Name: "remind", Usage: "<minutes> <text>"})
		}
		m, err := strconv.Atoi(req.Args[0])
		if err != nil {
			return "", plugin.UserError("❌ %q is not a number of minutes", req.Args[0])
		}
		at := h.Clock().Now().Add(time.Duration(m) * time.Minute)
		text := req.Args[1]
		h.At(at, func(ctx context.Context) { _ = h.Say(ctx, "⏰ "+text) })
		return "👍 at " + at.Format("15:04"), nil
	})
	return nil
}

func (*chime) Stop(context.Context) error { return nil }

func TestClockDrivesTheSchedule(t *testing.T) {
	is := is.New(t)
	clk := roseytest.NewClock(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(&chime{}))
	is.True(clk.WaitTimers(1)) // the hourly job
	clk.Advance(59 * time.Minute)
	h.ExpectNone()
	clk.Advance(time.Minute)
	h.Expect("🔔 1")

	h.Say("alice", "!remind 30 tea")
	h.Expect("👍 at 10:30")
	is.True(clk.WaitTimers(2)) // the hourly job again, and the reminder
	clk.Advance(30 * time.Minute)
	h.Expect("⏰ tea")
	clk.Advance(30 * time.Minute)
	h.Expect("🔔 2")

	// Stopping the plugin cancels its schedule: no timer is left.
	h.Say("alice", "!remind 10 never")
	h.Expect("👍")
	is.True(clk.WaitTimers(2))
	is.NoErr(h.Bot().Plugins().StopPlugin(context.Background(), "chime"))
	is.Equal(clk.Timers(), 0)
	clk.Advance(24 * time.Hour)
	h.ExpectNone()
}

func TestClockTimer(t *testing.T) {
	is := is.New(t)
	clk := roseytest.NewClock(time.Unix(0, 0))
	a, b := clk.NewTimer(2*time.Second), clk.NewTimer(time.Second)
	clk.Advance(1500 * time.Millisecond)
	is.Equal(<-b.C(), time.Unix(1, 0)) // fired at its own time
	select {
	case <-a.C():
		t.Fatal("fired early")
	default:
	}
	is.True(a.Stop())
	clk.Advance(time.Hour)
	select {
	case <-a.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	is.True(!a.Reset(time.Minute)) // it was stopped
	clk.Advance(time.Minute)
	is.Equal(<-a.C(), time.Unix(0, 0).Add(time.Hour+1500*time.Millisecond+time.Minute))
}
