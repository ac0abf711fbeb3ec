// Package batch runs the flushes of a plugin that keeps per-line
// bookkeeping in memory (seen, stats) instead of writing to the database
// for every chat line: a flush every interval, one sooner when enough has
// piled up, and a last one when the plugin stops. Flushes never overlap,
// and Quiet runs code while none is in progress, so a read that merges
// stored and in-memory state never counts a batch twice.
package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/plugin"
)

// Flusher runs flushes; the zero value is not usable: call New.
type Flusher struct {
	every time.Duration
	clock plugin.Clock
	flush func(ctx context.Context)

	io   sync.Mutex // held by a flush, and by Quiet
	kick chan struct{}
}

// New returns a Flusher that calls flush every interval on clock once
// Run is started. flush writes what is pending; it must keep what it could
// not write for the next flush.
func New(every time.Duration, clock plugin.Clock, flush func(ctx context.Context)) *Flusher {
	return &Flusher{every: every, clock: clock, flush: flush, kick: make(chan struct{}, 1)}
}

// Run flushes every interval, and soon after Kick, until ctx ends. It
// does not flush at the end: the plugin's Stop calls Now. A flush under
// way when ctx ends is finished (its writes have their own deadlines).
func (f *Flusher) Run(ctx context.Context) {
	t := f.clock.NewTimer(f.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-f.kick:
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		f.Now(context.WithoutCancel(ctx))
		t.Reset(f.every)
	}
}

// Kick asks for a flush without waiting for the interval (enough is
// pending). It never blocks.
func (f *Flusher) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Now flushes at once, after any flush in progress.
func (f *Flusher) Now(ctx context.Context) {
	f.io.Lock()
	defer f.io.Unlock()
	f.flush(ctx)
}

// Finish ends a batching plugin: every event delivered to subs so far is
// taken in (the connector stops first, but its last events may still be on
// their way), then stopped runs (from then on the plugin writes at once),
// then the last flush.
func (f *Flusher) Finish(ctx context.Context, stopped func(), subs ...*Subscription) error {
	var errs []error
	for _, s := range subs {
		if s != nil {
			errs = append(errs, s.Drain(ctx))
		}
	}
	stopped()
	f.Now(ctx)
	return errors.Join(errs...)
}

// Quiet runs fn while no flush is in progress: what the database holds
// and what is pending in memory then add up to the whole.
func (f *Flusher) Quiet(fn func()) {
	f.io.Lock()
	defer f.io.Unlock()
	fn()
}

// Parallel runs write for each of items, at most n at a time, and returns
// the items whose write failed. Concurrent writes let the database service
// commit them together.
func Parallel[T any](ctx context.Context, items []T, n int, write func(ctx context.Context, item T) error) (failed []T) {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(n, 1))
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := write(ctx, it); err != nil {
				mu.Lock()
				failed = append(failed, it)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// Subscription is a subscription whose Drain waits until every event it
// received has been handled, so that a plugin's last flush, at stop,
// holds every event delivered before.
type Subscription struct {
	sub *nats.Subscription
}

// Subscribe delivers the events on subject (prefixed as the bus does) to
// fn, one at a time and in order, as Host.Subscribe does: with the event's
// correlation id in ctx, and a panic recovered and logged to log. The
// plugin ends it with Drain in its Stop.
func Subscribe(bus *eventbus.Bus, log *slog.Logger, subject string, fn eventbus.Handler) (*Subscription, error) {
	prefix := bus.Prefix()
	sub, err := bus.Conn().Subscribe(bus.Subject(subject), func(m *nats.Msg) {
		ev := busevent.FromMsg(m, prefix)
		ctx := context.Background()
		if ev.CorrelationID != "" {
			ctx = eventbus.WithCorrelationID(ctx, ev.CorrelationID)
		}
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panic recovered", "subject", ev.Subject, "panic", r, "correlation_id", ev.CorrelationID, "stack", string(debug.Stack()))
			}
		}()
		fn(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("batch: subscribe %s: %w", subject, err)
	}
	// Generous pending limits, as the bus's own: a burst of chat must not
	// be dropped as a slow consumer.
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	return &Subscription{sub: sub}, nil
}

// Drain stops delivery and waits until the events already received have
// been handled, or ctx ends.
func (s *Subscription) Drain(ctx context.Context) error {
	if err := s.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		return fmt.Errorf("batch: drain %s: %w", s.sub.Subject, err)
	}
	for s.sub.IsValid() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("batch: drain %s: %w", s.sub.Subject, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
