package batch_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/batch"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/roseytest"
)

// TestDrainWaitsForEveryEventReceived: after Drain, every event published
// before it has been handled, even by a slow handler, and a panic in the
// handler is survived.
func TestDrainWaitsForEveryEventReceived(t *testing.T) {
	is := is.New(t)
	srv := natstest.StartServer(t)
	bus := natstest.Connect(t, srv, "batch")
	var handled, uncorrelated atomic.Int64
	sub, err := batch.Subscribe(bus, slog.New(slog.DiscardHandler), "cytube.>", func(ctx context.Context, ev *eventbus.Event) {
		if ev.Subject == "cytube.boom" {
			panic("boom")
		}
		if eventbus.CorrelationID(ctx) != "cid" { // ctx carries the event's correlation id
			uncorrelated.Add(1)
		}
		time.Sleep(time.Millisecond)
		handled.Add(1)
	})
	is.NoErr(err)
	ctx := eventbus.WithCorrelationID(context.Background(), "cid")
	is.NoErr(bus.Publish(ctx, "cytube.boom", map[string]any{}))
	for range 100 {
		is.NoErr(bus.Publish(ctx, "cytube.chat", map[string]any{"user": "a"}))
	}
	is.NoErr(bus.Flush(ctx)) // the server has them all before the drain
	dctx, cancel := context.WithTimeout(context.Background(), natstest.Wait)
	defer cancel()
	is.NoErr(sub.Drain(dctx))
	is.Equal(handled.Load(), int64(100))
	is.Equal(uncorrelated.Load(), int64(0))
}

// TestFlusher: a flush comes every interval on the clock, and soon after a
// Kick; Quiet never runs during a flush; Parallel reports what failed.
func TestFlusher(t *testing.T) {
	is := is.New(t)
	clk := roseytest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var flushes atomic.Int64
	busy := atomic.Bool{}
	f := batch.New(time.Minute, clk, func(context.Context) {
		busy.Store(true)
		time.Sleep(5 * time.Millisecond)
		busy.Store(false)
		flushes.Add(1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(natstest.Wait)
		for flushes.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d flushes, want %d", flushes.Load(), n)
			}
			f.Quiet(func() { is.True(!busy.Load()) })
			time.Sleep(time.Millisecond)
		}
	}
	is.True(clk.WaitTimers(1))
	clk.Advance(time.Minute)
	waitFor(1)
	f.Kick()
	waitFor(2)

	failed := batch.Parallel(context.Background(), []int{1, 2, 3, 4, 5}, 2, func(_ context.Context, n int) error {
		if n%2 == 0 {
			return errors.New("even")
		}
		return nil
	})
	is.Equal(len(failed), 2)
}
