package monitor

import (
	"sync"
	"time"
)

// Rate is a counter the dashboard charts per second, such as the messages
// a NATS connection sent. Read returns its running total; a total lower
// than the last one (a restarted counter) counts as no change.
type Rate struct {
	Name string
	Read func() uint64
}

// rates samples Config.Rates once a second into a ring over the window.
type rates struct {
	defs []Rate

	mu    sync.Mutex
	prev  []uint64
	have  bool
	slots [windowSeconds]rateSlot
}

type rateSlot struct {
	unix   int64
	deltas []uint64
}

func newRates(defs []Rate) *rates {
	return &rates{defs: defs, prev: make([]uint64, len(defs))}
}

// sample reads every counter and keeps what it grew by since the last
// sample, in the slot of now's second.
func (r *rates) sample(now time.Time) {
	cur := make([]uint64, len(r.defs))
	for i, d := range r.defs {
		cur[i] = d.Read()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.have {
		deltas := make([]uint64, len(cur))
		for i := range cur {
			if cur[i] > r.prev[i] {
				deltas[i] = cur[i] - r.prev[i]
			}
		}
		unix := now.Unix()
		r.slots[bucketIndex(unix)] = rateSlot{unix: unix, deltas: deltas}
	}
	r.prev, r.have = cur, true
}

// run samples every second until quit is closed (the caller took the
// first sample).
func (r *rates) run(quit <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-tick.C:
			r.sample(now)
		}
	}
}

type rateSeries struct {
	Name string `json:"name"`
	// Values holds one count per second of the window, the oldest first;
	// null where no sample was taken.
	Values []*uint64 `json:"values"`
}

// series returns each counter's growth per second over the window that
// ends with now's second.
func (r *rates) series(now time.Time) []rateSeries {
	out := make([]rateSeries, len(r.defs))
	end := now.Unix()
	start := end - int64(windowSeconds) + 1
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, d := range r.defs {
		out[i] = rateSeries{Name: d.Name, Values: make([]*uint64, 0, windowSeconds)}
		for unix := start; unix <= end; unix++ {
			slot := r.slots[bucketIndex(unix)]
			if slot.unix != unix {
				out[i].Values = append(out[i].Values, nil)
				continue
			}
			v := slot.deltas[i]
			out[i].Values = append(out[i].Values, &v)
		}
	}
	return out
}
