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
	for len(h.order) > handledMemory && (len(h.order) > handledMax || now.Sub(h.order[0].at) > handledFor) {
		delete(h.done, h.order[0].id)
		h.order = h.order[1:]
	}
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
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
