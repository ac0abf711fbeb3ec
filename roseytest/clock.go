package roseytest

import (
	"sort"
	"sync"
	"time"

	"github.com/roseybot/rosey/plugin"
)

// Clock is a plugin.Clock that moves only when the test says: give it to
// the harness with WithClock, and the plugins' Host.Clock, timers and
// schedules (Host.Every, Host.At) run on it, and so do the router's
// cooldowns and timeouts. Advance fires every timer that comes due, in
// order, so a countdown, a trivia question's time or a daily job is tested
// without sleeping.
//
// A command still waiting for its plugin's answer times out when the clock
// moves past its timeout: have its answer (Expect, or ExpectNone for a
// command that answers nothing) before moving the clock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	added  chan struct{} // closed and replaced when a timer is set
}

// NewClock returns a Clock showing start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, added: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires once the clock has moved d on.
func (c *Clock) NewTimer(d time.Duration) plugin.Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the clock on by d, firing the timers that come due, in
// the order they are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		t.active = false
		select {
		case t.ch <- c.now:
		default: // the last firing is still unread, as with time.Timer
		}
	}
	c.now = end
	c.mu.Unlock()
}

// Set moves the clock to t (forward only), firing the timers due by then.
func (c *Clock) Set(t time.Time) { c.Advance(t.Sub(c.Now())) }

// Timers returns how many timers are set and not yet fired or stopped.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers waits until at least n timers are set, or DefaultTimeout
// passes, and reports whether they are. A plugin sets its timers in its
// own goroutines: wait for them before Advance, so the move fires them.
func (c *Clock) WaitTimers(n int) bool {
	deadline := time.NewTimer(DefaultTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		have, added := len(c.timers), c.added
		c.mu.Unlock()
		if have >= n {
			return true
		}
		select {
		case <-added:
		case <-deadline.C:
			return false
		}
	}
}

type fakeTimer struct {
	c      *Clock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stopLocked()
}

func (t *fakeTimer) stopLocked() bool {
	if !t.active {
		return false
	}
	t.active = false
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			break
		}
	}
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.stopLocked()
	t.at, t.active = t.c.now.Add(d), true
	if d <= 0 {
		t.active = false
		select {
		case t.ch <- t.c.now:
		default:
		}
		return was
	}
	t.c.timers = append(t.c.timers, t)
	close(t.c.added)
	t.c.added = make(chan struct{})
	return was
}
