package plugin

import (
	"errors"
	"fmt"
	"sync"
)

// MaxConcurrency is the most commands Host.Concurrency lets a plugin serve
// at once.
const MaxConcurrency = 256

// maxWaiting bounds the commands a plugin serving side by side holds that
// have not started (behind an earlier command of the same user, or for a
// free slot). It is above the router's default max_per_user (64), so one
// user's flood alone does not fill it and hold up everybody else.
const maxWaiting = 256

// MaxPerUser bounds the commands one user holds in a plugin serving side
// by side (running or waiting their turn), whatever channels they come
// from: a quarter of what may wait. Past it that user's commands are
// turned away at once ("try again in a moment") rather than fill the pool
// and hold up everybody else's. The router's default max_per_user (64)
// keeps a user in one channel within it; a user in many channels, or a
// component publishing to plugin.<name>.command itself, is what it stops.
const MaxPerUser = maxWaiting / 4

// ErrInvalidConcurrency is returned by Host.Concurrency for a bound out of
// range, or when called once the plugin serves its commands.
var ErrInvalidConcurrency = errors.New("plugin: invalid concurrency")

// Concurrency lets up to n of the plugin's commands be served at once, for
// a plugin whose handlers mostly wait (on the database, another service):
// side by side they overlap their waits, and the database service commits
// their writes together. Call it in Start; by default (n = 1) commands are
// served one at a time, in the order they arrive.
//
// With n > 1 the handlers must be safe to run side by side (guard shared
// state). One user's commands still run one at a time, in the order that
// user said them ("!quote add …" then "!quote search …" finds the quote);
// different users' commands run side by side, at most n at once. Up to 256
// more commands wait in the plugin for their turn; past that the plugin
// takes no more from NATS until one is done (they wait in the
// subscription's buffer, as they do for a plugin serving one at a time, and
// the router's timeout applies). One user holds at most MaxPerUser of them
// (64, a quarter): their next are answered at once that they have too many
// waiting, so that one user cannot fill the pool and starve the others.
// Stopping still serves every command already delivered.
//
// It is a Host method, beside Handle and Use, because whether handlers are
// safe side by side is the plugin author's knowledge, not the runner's; it
// is not in Info, which is what the plugin publishes, since how a copy
// serves its commands is no concern of the router's.
func (h *Host) Concurrency(n int) error {
	if n < 1 || n > MaxConcurrency {
		return fmt.Errorf("%w: %d: want 1 to %d", ErrInvalidConcurrency, n, MaxConcurrency)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.serving {
		return fmt.Errorf("%w: call Concurrency in Start", ErrInvalidConcurrency)
	}
	h.concurrency = n
	return nil
}

// pool serves commands side by side: at most size at once, and one key's
// (a user's) one at a time in the order submitted. Commands waiting for
// their turn are bounded by limit; submit waits past it.
type pool struct {
	size, limit int

	mu   sync.Mutex
	room sync.Cond // signalled when a command is done (submit waits on it)
	// admitted counts the commands submitted and not done.
	admitted int
	// running counts the workers; each serves one key at a time.
	running int
	// queued holds, per key, its commands not yet started; a key is in it
	// while it has a command running or waiting.
	queued map[string][]func()
	// ready lists the keys waiting for a worker, oldest first.
	ready []string
	// held counts, per key, its commands submitted and not done (at most
	// MaxPerUser).
	held map[string]int
}

func newPool(size int) *pool {
	p := &pool{size: size, limit: size + maxWaiting, queued: map[string][]func(){}, held: map[string]int{}}
	p.room.L = &p.mu
	return p
}

// submit runs job once the key's earlier commands are done and a worker is
// free, and reports true; it reports false, at once, when the key holds
// MaxPerUser commands already. It waits while the pool holds its limit.
// job must not panic.
func (p *pool) submit(key string, job func()) bool {
	p.mu.Lock()
	if p.held[key] >= MaxPerUser {
		p.mu.Unlock()
		return false
	}
	// Checked before waiting for room: the key's own commands cannot end
	// while the pool is full of others' and it waits here, so it still
	// holds fewer than MaxPerUser when room comes.
	for p.admitted >= p.limit {
		p.room.Wait()
	}
	p.admitted++
	p.held[key]++
	q, busy := p.queued[key]
	p.queued[key] = append(q, job)
	switch {
	case busy: // its worker, or its place in ready, takes it in turn
	case p.running < p.size:
		p.running++
		go p.work(key)
	default:
		p.ready = append(p.ready, key)
	}
	p.mu.Unlock()
	return true
}

// work serves key's next command, then the next key ready, until none is.
// A key with more waiting goes to the back of ready, so that one user's
// flood takes its turn with the others'.
func (p *pool) work(key string) {
	for {
		p.mu.Lock()
		q := p.queued[key]
		job := q[0]
		q[0] = nil
		p.queued[key] = q[1:]
		p.mu.Unlock()

		job()

		p.mu.Lock()
		p.admitted--
		if p.held[key]--; p.held[key] == 0 {
			delete(p.held, key)
		}
		p.room.Signal() // only the subscription's goroutine submits
		if len(p.queued[key]) > 0 {
			p.ready = append(p.ready, key)
		} else {
			delete(p.queued, key)
		}
		if len(p.ready) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		key = p.ready[0]
		p.ready[0] = ""
		p.ready = p.ready[1:]
		p.mu.Unlock()
	}
}

// busy reports whether a command is running or waiting.
func (p *pool) busy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.admitted > 0
}
