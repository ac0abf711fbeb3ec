package plugin

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and makes timers. A plugin takes it from
// Host.Clock rather than calling time.Now or time.NewTimer, so a test can
// move time by hand (roseytest.Clock) and check cooldowns, countdowns and
// timeouts without sleeping. The bot's clock is WallClock unless its
// config says otherwise.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's timer, like time.Timer: C receives the time once
// the timer fires.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset makes the timer fire d from now; it reports whether the timer
	// was active.
	Reset(d time.Duration) bool
}

// WallClock returns the real clock.
func WallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time                 { return time.Now() }
func (wallClock) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time        { return w.t.C }
func (w wallTimer) Stop() bool                 { return w.t.Stop() }
func (w wallTimer) Reset(d time.Duration) bool { return w.t.Reset(d) }

// Clock returns the plugin's clock: use it for the time and for timers.
func (h *Host) Clock() Clock { return h.clock }

// Every runs fn every d, the first time d from now, until the plugin
// stops or cancel is called. Runs never overlap: one that takes longer
// than d delays the next. fn's context ends when the job is cancelled.
func (h *Host) Every(d time.Duration, fn func(ctx context.Context)) (cancel func()) {
	return h.schedule(func(ctx context.Context) {
		t := h.clock.NewTimer(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			}
			fn(ctx)
			t.Reset(d)
		}
	})
}

// At runs fn once at the time at (at once if it is past), unless the
// plugin stops or cancel is called first. A plugin that keeps its
// schedule in the database calls At again for each entry when it starts,
// so the schedule survives a restart.
func (h *Host) At(at time.Time, fn func(ctx context.Context)) (cancel func()) {
	return h.schedule(func(ctx context.Context) {
		t := h.clock.NewTimer(max(at.Sub(h.clock.Now()), 0))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		fn(ctx)
	})
}

// schedule runs job in a goroutine the plugin's stop waits for, with a
// context that cancel also ends.
func (h *Host) schedule(job func(ctx context.Context)) (cancel func()) {
	ctx, stop := context.WithCancel(h.ctx)
	var once sync.Once
	h.Go(func(context.Context) {
		defer stop()
		job(ctx)
	})
	return func() { once.Do(stop) }
}
