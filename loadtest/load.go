package loadtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// Defaults of Config.
const (
	DefaultDuration = 10 * time.Second
	DefaultUsers    = 50
	DefaultWindow   = 64
	DefaultChannel  = "loadtest"
	DefaultDrain    = 10 * time.Second
)

// ErrBadConfig is returned by Run for a Config it cannot run.
var ErrBadConfig = errors.New("loadtest: bad config")

// Config is one run of load.
type Config struct {
	// Rate is how many chat lines a second are offered, evenly spread.
	// Zero offers them as fast as the bot answers: at most Window commands
	// wait for their answer at once (a closed loop, to find capacity).
	Rate float64
	// Window bounds the commands awaiting an answer when Rate is zero;
	// default DefaultWindow.
	Window int
	// Duration is how long lines are offered; default DefaultDuration.
	Duration time.Duration
	// Lines, when above zero, ends the offering after that many lines
	// even if Duration has not passed.
	Lines int
	// Mix is what is said; default DefaultMix.
	Mix Mix
	// Users is how many users take turns saying the lines; default
	// DefaultUsers. The router answers each user in order, so fewer users
	// means more waiting behind one's own slow commands.
	Users int
	// Rank is the users' CyTube rank; default 1 (registered).
	Rank float64
	// Channel is the channel the lines are said in; default
	// DefaultChannel.
	Channel string
	// Drain is how long, after the last line, answers are still awaited;
	// default DefaultDrain (the router's own timeout is 5s).
	Drain time.Duration
	// Processes returns the processes whose CPU and memory the report
	// gives; default Family (this process and its descendants).
	Processes func() []int
	// Seed makes the sequence of lines repeatable; zero picks one from the
	// clock.
	Seed uint64
}

func (c *Config) defaults() error {
	if c.Rate < 0 {
		return fmt.Errorf("%w: rate %v is negative", ErrBadConfig, c.Rate)
	}
	if c.Duration < 0 || c.Window < 0 || c.Users < 0 || c.Lines < 0 || c.Drain < 0 {
		return fmt.Errorf("%w: duration, window, users, lines and drain must not be negative", ErrBadConfig)
	}
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.Duration = cmp.Or(c.Duration, DefaultDuration)
	c.Users = cmp.Or(c.Users, DefaultUsers)
	c.Channel = cmp.Or(c.Channel, DefaultChannel)
	c.Drain = cmp.Or(c.Drain, DefaultDrain)
	c.Rank = cmp.Or(c.Rank, protocol.RankUser)
	if c.Processes == nil {
		c.Processes = Family
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if len(c.Mix) == 0 {
		m, err := ParseMix(DefaultMix)
		if err != nil {
			return err
		}
		c.Mix = m
	}
	return nil
}

// offer is one line said, and what came back for it.
type offer struct {
	kind    *Kind
	sent    time.Time
	latency time.Duration // to the first answer
	answers int
	first   string   // the first answer's text
	seen    []string // distinct answers of a command answered in parts
	dups    int
}

// run is the state of one Run shared with the answer handler.
type run struct {
	mu         sync.Mutex
	offers     map[string]*offer
	unexpected int
	lastAnswer time.Time
	commands   int           // lines said that expect an answer
	answered   int           // commands with an answer
	settled    chan struct{} // a command got its first answer
}

// answer is the body of cytube.send.chat and cytube.send.pm.
type answer struct {
	Message string `json:"message"`
	Result  string `json:"result"`
}

func (r *run) onAnswer(m *nats.Msg) {
	now := time.Now()
	var a answer
	_ = json.Unmarshal(m.Data, &a)
	text := cmp.Or(a.Message, a.Result)
	id := m.Header.Get(eventbus.HeaderCorrelationID)
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.offers[id]
	if o == nil || !o.kind.Answers {
		r.unexpected++
		return
	}
	r.lastAnswer = now
	o.answers++
	if o.answers == 1 {
		o.latency, o.first = now.Sub(o.sent), text
		o.seen = append(o.seen, text)
		r.answered++
		select {
		case r.settled <- struct{}{}:
		default:
		}
		return
	}
	// A second message for one command is a duplicate, unless the command
	// answers in parts and this part is new.
	if o.kind.Parts && !slices.Contains(o.seen, text) {
		o.seen = append(o.seen, text)
		return
	}
	o.dups++
}

// Run offers chat lines on bus as the CyTube connector publishes them
// (cytube.chat, each with a correlation id of its own), takes the bot's
// answers off cytube.send.chat and cytube.send.pm (the router keeps a
// line's correlation id on its answer), and reports. The bot must run
// without a connector of its own on that bus, or its connector would send
// the answers to a real channel.
func Run(ctx context.Context, bus *eventbus.Bus, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if bus == nil {
		return nil, fmt.Errorf("%w: no bus", ErrBadConfig)
	}
	r := &run{offers: map[string]*offer{}, settled: make(chan struct{}, 1)}
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	for _, subject := range []string{protocol.SendChat, protocol.SendPM} {
		s, err := bus.Conn().Subscribe(bus.Subject(subject), r.onAnswer)
		if err != nil {
			return nil, fmt.Errorf("loadtest: subscribe %s: %w", subject, err)
		}
		_ = s.SetPendingLimits(-1, -1) // never drop an answer in the harness
		subs = append(subs, s)
	}
	if err := bus.Flush(ctx); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}

	pids := cfg.Processes()
	ResetPeak(pids...)
	before, usageErr := ReadUsage(pids...)

	users := make([]string, cfg.Users)
	for i := range users {
		users[i] = fmt.Sprintf("user%03d", i+1)
	}
	pick := newPicker(cfg.Mix, cfg.Seed)
	runID := eventbus.NewCorrelationID()
	start := time.Now()
	end := start.Add(cfg.Duration)
	n := 0
	var sendErr error
	say := func() bool {
		k := pick.next()
		user := users[n%len(users)]
		other := users[pick.rng.IntN(len(users))]
		text := k.Line(n, user, other)
		body, _ := json.Marshal(protocol.ChatMessage{User: user, Message: text, Channel: cfg.Channel, Rank: cfg.Rank, Time: time.Now().UnixMilli()})
		id := runID + "." + strconv.Itoa(n)
		n++
		r.mu.Lock()
		o := &offer{kind: &k, sent: time.Now()}
		r.offers[id] = o
		if k.Answers {
			r.commands++
		}
		r.mu.Unlock()
		if err := bus.Publish(eventbus.WithCorrelationID(ctx, id), protocol.Chat, body); err != nil {
			sendErr = err
			return false
		}
		return true
	}
	more := func() bool {
		return ctx.Err() == nil && sendErr == nil && time.Now().Before(end) && (cfg.Lines == 0 || n < cfg.Lines)
	}

	if cfg.Rate > 0 {
		tick := time.NewTicker(time.Millisecond)
		for more() {
			due := int(cfg.Rate * time.Since(start).Seconds())
			for n < due && more() {
				say()
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		tick.Stop()
	} else {
		// Closed loop: at most Window commands await their answer.
		for more() {
			r.mu.Lock()
			full := r.commands-r.answered >= cfg.Window
			r.mu.Unlock()
			if !full {
				say()
				continue
			}
			select {
			case <-r.settled:
			case <-time.After(time.Until(end)):
			case <-ctx.Done():
			}
		}
	}
	offeredFor := time.Since(start)

	// Drain: wait for the answers still owed, then a little longer for
	// late duplicates.
	drain := time.NewTimer(cfg.Drain)
	defer drain.Stop()
	for {
		r.mu.Lock()
		w := r.commands - r.answered
		r.mu.Unlock()
		if w == 0 {
			break
		}
		select {
		case <-r.settled:
			continue
		case <-drain.C:
		case <-ctx.Done():
		}
		break
	}
	select {
	case <-time.After(200 * time.Millisecond):
	case <-ctx.Done():
	}

	after, err := ReadUsage(pids...)
	if usageErr == nil {
		usageErr = err
	}
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	subs = nil
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.report(cfg, start, offeredFor)
	if usageErr == nil {
		rep.Processes = after.Processes
		rep.CPU = after.CPU - before.CPU
		rep.RSS, rep.Anon, rep.PSS, rep.PeakRSS = after.RSS, after.Anon, after.PSS, after.PeakRSS
	} else {
		rep.UsageError = usageErr.Error()
	}
	if sendErr != nil {
		return rep, fmt.Errorf("loadtest: offering a line: %w", sendErr)
	}
	return rep, ctx.Err()
}

// outcome classifies an answer by the notice it starts with: the router's
// own (timeout, refusal, failure) or a plugin's error.
func outcome(text string) string {
	switch {
	case strings.HasPrefix(text, "⏱"):
		return "timeout"
	case strings.HasPrefix(text, "⏳"):
		return "refused"
	case strings.HasPrefix(text, "⚠"), strings.HasPrefix(text, "❌"), strings.HasPrefix(text, "⛔"), strings.HasPrefix(text, "❓"):
		return "error"
	}
	return "ok"
}
