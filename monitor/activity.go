package monitor

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/roseybot/rosey/router"
)

// Bounds of what an Activity keeps: its memory does not grow with traffic.
const (
	// ActivityWindow is how far back an Activity keeps per-second counts.
	ActivityWindow = 5 * time.Minute
	// SamplesPerSecond caps the latencies kept for each second; past it a
	// random sample of the second's commands is kept (reservoir sampling).
	SamplesPerSecond = 100
	// RecentCommands is how many of the latest commands, and of the
	// latest errors, an Activity keeps.
	RecentCommands = 50
)

const windowSeconds = int(ActivityWindow / time.Second)

// Activity keeps a bot's recent commands for the dashboard: per-second
// counts by result and latency samples over ActivityWindow, and the latest
// RecentCommands commands and errors. It never keeps a user's name or text:
// only what router.Outcome carries. It is safe for concurrent use; the zero
// value is not usable: call NewActivity.
type Activity struct {
	mu      sync.Mutex
	seconds [windowSeconds]second
	recent  ring
	errors  ring
	rng     *rand.Rand
}

type second struct {
	unix     int64 // the second this bucket holds; 0 when unused
	byResult map[string]int
	byPlugin map[string]*pluginCount
	total    int
	samples  []sample
}

type pluginCount struct{ commands, errors int }

type sample struct {
	plugin  string
	latency time.Duration
}

type ring struct {
	items [RecentCommands]Command
	next  int
	n     int
}

func (r *ring) add(c Command) {
	r.items[r.next] = c
	r.next = (r.next + 1) % len(r.items)
	r.n = min(r.n+1, len(r.items))
}

// newestFirst copies the ring's commands, the latest first.
func (r *ring) newestFirst() []Command {
	out := make([]Command, 0, r.n)
	for i := 1; i <= r.n; i++ {
		out = append(out, r.items[(r.next-i+len(r.items))%len(r.items)])
	}
	return out
}

// Command is one command as the dashboard lists it: never the user's name
// or text, only which command it was and what became of it.
type Command struct {
	Time    time.Time     `json:"time"`
	Channel string        `json:"channel"`
	Plugin  string        `json:"plugin"`
	Command string        `json:"command"`
	Result  string        `json:"result"`
	Latency time.Duration `json:"latency_ns"`
}

// IsError reports whether a result is a failure an operator should look
// at: the plugin erred, did not answer in time, was not running, or the
// router was overloaded. Refusals by rank or cooldown and unknown commands
// are the users' doing, not errors.
func IsError(result string) bool {
	switch result {
	case router.ResultError, router.ResultTimeout, router.ResultNotRunning, router.ResultRefusedOverload:
		return true
	}
	return false
}

// NewActivity returns an empty Activity.
func NewActivity() *Activity {
	return &Activity{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Add records o as done at t. Outcomes older than the window are counted
// in the latest lists only.
func (a *Activity) Add(t time.Time, o router.Outcome) {
	c := Command{Time: t, Channel: o.Channel, Plugin: o.Plugin, Command: o.Command, Result: o.Result, Latency: o.Latency}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recent.add(c)
	if IsError(o.Result) {
		a.errors.add(c)
	}
	unix := t.Unix()
	b := &a.seconds[bucketIndex(unix)]
	if b.unix != unix {
		if b.unix > unix {
			return // a second already pushed out of the window
		}
		b.unix, b.total = unix, 0
		clear(b.byResult)
		clear(b.byPlugin)
		b.samples = b.samples[:0]
	}
	if b.byResult == nil {
		b.byResult, b.byPlugin = map[string]int{}, map[string]*pluginCount{}
	}
	b.byResult[o.Result]++
	b.total++
	if o.Plugin != "" {
		// Plugin names come from the router's directory, never from the
		// user, so this map stays as small as the set of plugins.
		pc := b.byPlugin[o.Plugin]
		if pc == nil {
			pc = &pluginCount{}
			b.byPlugin[o.Plugin] = pc
		}
		pc.commands++
		if IsError(o.Result) {
			pc.errors++
		}
	}
	smp := sample{plugin: o.Plugin, latency: o.Latency}
	if len(b.samples) < SamplesPerSecond {
		b.samples = append(b.samples, smp)
	} else if j := a.rng.IntN(b.total); j < SamplesPerSecond {
		b.samples[j] = smp
	}
}

func bucketIndex(unix int64) int {
	return int(((unix % int64(windowSeconds)) + int64(windowSeconds)) % int64(windowSeconds))
}

// Second is one second's commands in a Snapshot.
type Second struct {
	// Time is the start of the second.
	Time time.Time `json:"time"`
	// Total counts every command of the second; ByResult splits it by
	// router result (answered, error, timeout…), absent results omitted.
	Total    int            `json:"total"`
	ByResult map[string]int `json:"by_result,omitempty"`
	// Errors counts the commands whose result IsError.
	Errors int `json:"errors"`
}

// Percentiles are latency percentiles over a span of time, from the
// latency samples kept (at most SamplesPerSecond a second). All are zero
// when Samples is 0.
type Percentiles struct {
	Start   time.Time     `json:"start"`
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P95     time.Duration `json:"p95_ns"`
	P99     time.Duration `json:"p99_ns"`
}

// Snapshot is what an Activity holds at one moment.
type Snapshot struct {
	// At is the moment of the snapshot.
	At time.Time `json:"at"`
	// Seconds holds every second of the window, the oldest first, the
	// last one being the second of At (still filling).
	Seconds []Second `json:"seconds"`
	// PerSecond is the average command rate over the last minute.
	PerSecond float64 `json:"per_second"`
	// LastMinute holds the latency percentiles of the last minute.
	LastMinute Percentiles `json:"last_minute"`
	// Plugins holds each plugin's commands of the last minute, by plugin
	// name; plugins without any are absent.
	Plugins map[string]PluginActivity `json:"plugins"`
	// Latency holds percentiles for each span of LatencyStep over the
	// window, the oldest first.
	Latency []Percentiles `json:"latency"`
	// Recent and Errors are the latest commands and errors, newest first.
	Recent []Command `json:"recent"`
	Errors []Command `json:"errors"`
}

// PluginActivity is one plugin's commands over the last minute.
type PluginActivity struct {
	Commands int `json:"commands"`
	// Errors counts the commands whose result IsError.
	Errors  int         `json:"errors"`
	Latency Percentiles `json:"latency"`
}

// LatencyStep is the span of each point of Snapshot.Latency.
const LatencyStep = 5 * time.Second

// Snapshot returns what the Activity holds as of now.
func (a *Activity) Snapshot(now time.Time) Snapshot {
	end := now.Unix()
	start := end - int64(windowSeconds) + 1
	s := Snapshot{At: now, Seconds: make([]Second, 0, windowSeconds)}
	samples := make([][]sample, 0, windowSeconds)
	s.Plugins = map[string]PluginActivity{}
	// The last minute: the 60 seconds ending with now's.
	const minute = 60
	minuteStart := end - minute + 1

	a.mu.Lock()
	for unix := start; unix <= end; unix++ {
		b := &a.seconds[bucketIndex(unix)]
		sec := Second{Time: time.Unix(unix, 0)}
		var lat []sample
		if b.unix == unix && b.total > 0 {
			if unix >= minuteStart {
				for name, pc := range b.byPlugin {
					pa := s.Plugins[name]
					pa.Commands += pc.commands
					pa.Errors += pc.errors
					s.Plugins[name] = pa
				}
			}
			sec.Total = b.total
			sec.ByResult = make(map[string]int, len(b.byResult))
			for r, n := range b.byResult {
				sec.ByResult[r] = n
				if IsError(r) {
					sec.Errors += n
				}
			}
			lat = slices.Clone(b.samples)
		}
		s.Seconds = append(s.Seconds, sec)
		samples = append(samples, lat)
	}
	s.Recent = a.recent.newestFirst()
	s.Errors = a.errors.newestFirst()
	a.mu.Unlock()

	var total int
	for _, sec := range s.Seconds[len(s.Seconds)-minute:] {
		total += sec.Total
	}
	s.PerSecond = float64(total) / minute
	s.LastMinute = percentiles(time.Unix(minuteStart, 0), samples[len(samples)-minute:], "")
	for name, pa := range s.Plugins {
		pa.Latency = percentiles(time.Unix(minuteStart, 0), samples[len(samples)-minute:], name)
		s.Plugins[name] = pa
	}

	step := int(LatencyStep / time.Second)
	for i := 0; i < len(samples); i += step {
		s.Latency = append(s.Latency, percentiles(time.Unix(start+int64(i), 0), samples[i:min(i+step, len(samples))], ""))
	}
	return s
}

// percentiles merges per-second samples, of plugin only unless it is "",
// and takes nearest-rank percentiles.
func percentiles(start time.Time, perSecond [][]sample, plugin string) Percentiles {
	var all []time.Duration
	for _, ss := range perSecond {
		for _, s := range ss {
			if plugin == "" || s.plugin == plugin {
				all = append(all, s.latency)
			}
		}
	}
	p := Percentiles{Start: start, Samples: len(all)}
	if len(all) == 0 {
		return p
	}
	slices.Sort(all)
	rank := func(q float64) time.Duration {
		// Nearest rank: the smallest sample with at least q of all at or
		// below it.
		i := int(math.Ceil(q*float64(len(all)))) - 1
		return all[max(0, min(i, len(all)-1))]
	}
	p.P50, p.P95, p.P99 = rank(0.50), rank(0.95), rank(0.99)
	return p
}
