// Package batch runs the flushes of a plugin that keeps per-line
// bookkeeping in memory (seen, stats) instead of writing to the database
// for every chat line: a flush every interval, one sooner when enough has
// piled up, and a last one when the plugin stops. Flushes never overlap,
// and Quiet runs code while none is in progress, so a read that merges
// stored and in-memory state never counts a batch twice.
package batch

import (
	"context"
	"sync"
	"time"

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
// does not flush at the end: the plugin's Stop calls Now.
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
		f.Now(ctx)
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
