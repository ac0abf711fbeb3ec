// Package handled lets a plugin's command wait until the plugin's own
// event subscription has seen the chat line the command came with.
package handled

import (
	"context"
	"sync"
	"time"
)

// IDs remembers the correlation ids of recent events a plugin's own
// subscription has finished with, so that a command can wait for the line
// that came with it. A command's request carries the correlation id of the
// chat line that said it, but the line reaches the plugin's cytube.chat
// subscription independently; Wait lets "!seen bob" or "!admin status"
// include everything said up to and including the command itself.
// The zero value is ready to use.
type IDs struct {
	mu      sync.Mutex
	done    map[string]bool
	order   []marked
	changed chan struct{}
	// expiry prunes the ids of a burst once the lines stop: pruning on
	// Mark alone kept them (and the map's and slice's burst-sized
	// storage, megabytes) for as long as the channel stayed quiet.
	expiry *time.Timer
	peak   int // the most ids held since the map was last rebuilt
}

type marked struct {
	id string
	at time.Time
}

// An IDs keeps an id for handledFor, longer than a command can wait for
// its answer (the router's timeout, 5s by default), so that under a burst
// a command served late still finds its line; with few lines it keeps the
// last handledMemory whatever their age, and never more than handledMax.
// Keeping only a count let a burst push a line out before its command was
// served, and the command then waited its whole max for nothing: !seen,
// served one at a time, fell seconds behind and every command of the bot
// was refused (found with rosey loadtest at 2000 lines/s).
const (
	handledFor    = 10 * time.Second
	handledMemory = 1024
	handledMax    = 1 << 17
)

// Mark records that the event with correlation id is handled.
func (h *IDs) Mark(id string) {
	if id == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = map[string]bool{}
	}
	now := time.Now()
	h.done[id] = true
	h.order = append(h.order, marked{id, now})
	h.peak = max(h.peak, len(h.order))
	h.prune(now)
	if len(h.order) > handledMemory && h.expiry == nil {
		h.expiry = time.AfterFunc(handledFor, h.expire)
	}
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
}

// prune forgets the ids past their time, and gives the storage of a burst
// back once it is mostly unused. h.mu is held.
func (h *IDs) prune(now time.Time) {
	n := 0
	for len(h.order)-n > handledMemory && (len(h.order)-n > handledMax || now.Sub(h.order[n].at) > handledFor) {
		delete(h.done, h.order[n].id)
		n++
	}
	h.order = h.order[n:]
	if h.peak > 4*handledMemory && len(h.order) < h.peak/4 {
		// A map never shrinks, and the slice's old front keeps the ids
		// it held alive: copy both at their present size.
		h.order = append([]marked(nil), h.order...)
		done := make(map[string]bool, len(h.order))
		for _, m := range h.order {
			done[m.id] = true
		}
		h.done, h.peak = done, len(h.order)
	}
}

// expire prunes once the oldest ids kept are past their time, and again
// later while more than handledMemory remain.
func (h *IDs) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prune(time.Now())
	h.expiry = nil
	if len(h.order) > handledMemory {
		h.expiry = time.AfterFunc(time.Until(h.order[len(h.order)-handledMemory-1].at.Add(handledFor))+time.Millisecond, h.expire)
	}
}

// Len is how many ids h remembers.
func (h *IDs) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

// Wait returns once id is marked, ctx ends or max passes (the event may
// never come: a command sent straight to plugin.<name>.command has no line).
func (h *IDs) Wait(ctx context.Context, id string, max time.Duration) {
	if id == "" {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		h.mu.Lock()
		if h.done[id] {
			h.mu.Unlock()
			return
		}
		if h.changed == nil {
			h.changed = make(chan struct{})
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-t.C:
			return
		}
	}
}
