package countdown

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "countdown"

// Defaults for Config.
const (
	DefaultCheckInterval = time.Second
	DefaultCollection    = "countdowns"
	DefaultMaxPerChannel = 50
)

// Duration is a time.Duration written in JSON as a string with a unit,
// "10m"; it is plugin.Duration.
type Duration = plugin.Duration

// Config configures the plugin. The JSON fields can also come from the
// plugin's config section, which overrides what New was given.
type Config struct {
	// Alerts are how long before zero an alert is said; default 10m and 1m.
	Alerts []Duration `json:"alerts,omitempty"`
	// CheckInterval is how often countdowns are checked; default 1s.
	CheckInterval Duration `json:"check_interval,omitempty"`
	// Collection holds the countdowns.
	Collection string `json:"collection,omitempty"`
	// MaxPerChannel bounds the countdowns of one channel.
	MaxPerChannel int `json:"max_per_channel,omitempty"`
	// Now tells the time; nil is the Host's clock (Host.Clock), which
	// roseytest.Clock moves by hand in tests.
	Now func() time.Time `json:"-"`
}

// Countdown is a stored countdown, the document kept in the collection.
type Countdown struct {
	Name    string    `json:"name"`
	Channel string    `json:"channel"`
	Target  time.Time `json:"target"`
	// Every is the recurring schedule ("friday 19:00", "day 08:00"), or "".
	Every     string `json:"every,omitempty"`
	CreatedBy string `json:"created_by"`
	// Fired lists the alerts (seconds before zero) already said for Target.
	Fired []int64 `json:"fired,omitempty"`
}

func (c *Countdown) id() database.ID { return database.StringID(c.Channel + "/" + c.Name) }

// Plugin is the countdown plugin. Create it with New.
type Plugin struct {
	base Config

	mu     sync.Mutex // guards everything below
	cfg    Config
	host   *plugin.Host
	alerts []time.Duration // longest first
	items  map[string]*Countdown
}

// New returns a countdown plugin.
func New(cfg Config) *Plugin { return &Plugin{base: cfg} }

var command = plugin.Command{
	Name:        "countdown",
	Usage:       "<name> [<when>] | list | delete <name>",
	Description: "Count down to a moment (UTC): 2026-12-24 18:00, in 2h30m, tomorrow 20:00, every friday 19:00",
	Aliases:     []string{"countdowns"},
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{Name: Name, Version: "1.0.0", Description: "Named countdowns with alerts", Commands: []plugin.Command{command}}
}

// Start loads the stored countdowns and starts the scheduler.
func (p *Plugin) Start(ctx context.Context, h *plugin.Host) error {
	cfg := p.base
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if len(cfg.Alerts) == 0 {
		cfg.Alerts = []Duration{Duration(10 * time.Minute), Duration(time.Minute)}
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = Duration(DefaultCheckInterval)
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.MaxPerChannel <= 0 {
		cfg.MaxPerChannel = DefaultMaxPerChannel
	}
	if cfg.Now == nil {
		cfg.Now = h.Clock().Now
	}
	var alerts []time.Duration
	for _, a := range cfg.Alerts {
		if a <= 0 {
			return fmt.Errorf("countdown: alerts: %s is not a positive duration", time.Duration(a))
		}
		alerts = append(alerts, time.Duration(a))
	}
	slices.Sort(alerts)
	slices.Reverse(alerts)
	alerts = slices.Compact(alerts)

	items, err := load(ctx, h.DB(), cfg.Collection)
	pending := errors.Is(err, database.ErrUnavailable)
	if err != nil && !pending {
		return err
	}
	if pending {
		// The database service may start after us (it can run in another
		// process): begin empty and load once it answers.
		h.Logger().Warn("database not reachable yet; loading countdowns when it is", "err", err)
		items = map[string]*Countdown{}
	}
	p.mu.Lock()
	p.cfg, p.host, p.alerts, p.items = cfg, h, alerts, items
	p.mu.Unlock()
	h.Handle(command.Name, p.handle)
	if pending {
		h.Go(p.loadLater)
	}
	h.Every(time.Duration(cfg.CheckInterval), p.check)
	return nil
}

// loadLater retries loading until the database answers, then adds what it
// stored to anything created in the meantime.
func (p *Plugin) loadLater(ctx context.Context) {
	p.mu.Lock()
	t := p.host.Clock().NewTimer(time.Second)
	p.mu.Unlock()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			t.Reset(time.Second)
		}
		p.mu.Lock()
		db, collection := p.host.DB(), p.cfg.Collection
		p.mu.Unlock()
		items, err := load(ctx, db, collection)
		if err != nil {
			continue
		}
		p.mu.Lock()
		for k, c := range items {
			if _, ok := p.items[k]; !ok {
				p.items[k] = c
			}
		}
		p.mu.Unlock()
		p.host.Logger().Info("countdowns loaded", "count", len(items))
		return
	}
}

// Stop has nothing to release: the Host ends the scheduler.
func (p *Plugin) Stop(context.Context) error { return nil }

func load(ctx context.Context, db *database.Client, collection string) (map[string]*Countdown, error) {
	items := map[string]*Countdown{}
	for offset := 0; ; offset += database.MaxLimit {
		res, err := db.Query(ctx, database.QueryRequest{Collection: collection,
			Limit: database.MaxLimit, Offset: offset, NoTotal: true})
		if err != nil {
			return nil, fmt.Errorf("countdown: load: %w", err)
		}
		for _, it := range res.Items {
			var c Countdown
			if err := it.Decode(&c); err != nil || c.Name == "" {
				continue
			}
			items[it.ID.String()] = &c
		}
		if len(res.Items) < database.MaxLimit {
			return items, nil
		}
	}
}

// event is something check found to say and store.
type event struct {
	msg    string
	c      Countdown // the countdown after the event
	delete bool
}

// check says the alerts that are due and stores what changed.
func (p *Plugin) check(ctx context.Context) {
	p.mu.Lock()
	h, cfg := p.host, p.cfg
	now := cfg.Now().UTC()
	var events []event
	for key, c := range p.items {
		left := c.Target.Sub(now)
		if left <= 0 {
			ev := event{c: *c}
			if sc, ok := parseSchedule(c.Every); ok && c.Every != "" {
				c.Target, c.Fired = sc.next(now), nil
				ev.c = *c
				ev.msg = fmt.Sprintf("🎉 %s: it's time! Next: %s", c.Name, c.Target.Format(layoutShow))
			} else {
				ev.msg = fmt.Sprintf("🎉 %s: it's time!", c.Name)
				ev.delete = true
				delete(p.items, key)
			}
			events = append(events, ev)
			continue
		}
		// Say only the nearest alert that is due: after a restart the
		// earlier ones are old news. All due ones are marked as said.
		due := false
		for _, a := range p.alerts {
			if left <= a && !slices.Contains(c.Fired, int64(a/time.Second)) {
				c.Fired = append(c.Fired, int64(a/time.Second))
				due = true
			}
		}
		if due {
			events = append(events, event{c: *c, msg: fmt.Sprintf("⏰ %s in %s! (%s)", c.Name, human(left), c.Target.Format(layoutShow))})
		}
	}
	p.mu.Unlock()

	sort.Slice(events, func(i, j int) bool { return events[i].c.Target.Before(events[j].c.Target) })
	for _, ev := range events {
		var err error
		if ev.delete {
			_, err = h.DB().Delete(ctx, cfg.Collection, ev.c.id())
		} else {
			_, err = h.DB().Set(ctx, cfg.Collection, ev.c.id(), ev.c)
		}
		if err != nil {
			h.Logger().Error("countdown: could not store", "name", ev.c.Name, "err", err)
		}
		if err := h.SayIn(ctx, ev.c.Channel, ev.msg); err != nil {
			h.Logger().Error("countdown: could not say", "err", err)
		}
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// reserved words cannot name a countdown.
var reserved = []string{"list", "delete", "del", "rm", "remove", "help", "every", "in"}

func (p *Plugin) handle(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) == 0 {
		return "", plugin.Usage(command)
	}
	first := strings.ToLower(req.Args[0])
	switch first {
	case "list":
		if len(req.Args) > 1 {
			return "", plugin.Usage(command)
		}
		return p.list(req.Channel), nil
	case "delete", "del", "rm", "remove":
		if len(req.Args) != 2 {
			return "", plugin.UserError("❌ Usage: !countdown delete <name>")
		}
		return p.remove(ctx, req, strings.ToLower(req.Args[1]))
	}
	if !nameRE.MatchString(first) || slices.Contains(reserved, first) {
		return "", plugin.UserError("❌ A countdown name is 1-32 letters, digits, - or _ (and not a command word like list). Usage: !countdown %s", command.Usage)
	}
	if len(req.Args) == 1 {
		return p.show(req.Channel, first)
	}
	return p.create(ctx, req, first, strings.TrimSpace(strings.TrimPrefix(req.Text, req.Args[0])))
}

func (p *Plugin) create(ctx context.Context, req *plugin.Request, name, when string) (string, error) {
	p.mu.Lock()
	cfg, h := p.cfg, p.host
	target, every, err := parseWhen(when, cfg.Now())
	if err != nil {
		p.mu.Unlock()
		return "", plugin.UserError("%s", err.Error())
	}
	c := &Countdown{Name: name, Channel: req.Channel, Target: target, Every: every, CreatedBy: req.User}
	key := c.id().String()
	if _, dup := p.items[key]; dup {
		p.mu.Unlock()
		return "", plugin.UserError("❌ There is already a countdown named %s. Delete it first.", name)
	}
	n := 0
	for _, o := range p.items {
		if o.Channel == req.Channel {
			n++
		}
	}
	if n >= cfg.MaxPerChannel {
		p.mu.Unlock()
		return "", plugin.UserError("❌ This channel has %d countdowns, the most allowed. Delete one first.", n)
	}
	// Alerts already inside the window are skipped: "in 5m" gets no 10m alert.
	left := target.Sub(cfg.Now())
	for _, a := range p.alerts {
		if left <= a {
			c.Fired = append(c.Fired, int64(a/time.Second))
		}
	}
	p.items[key] = c
	doc := *c
	p.mu.Unlock()

	if _, err := h.DB().Set(ctx, cfg.Collection, doc.id(), doc); err != nil {
		p.mu.Lock()
		delete(p.items, key)
		p.mu.Unlock()
		return "", fmt.Errorf("countdown create: %w", err)
	}
	h.Logger().Info("countdown created", "name", name, "target", target, "every", every, "by", req.User)
	repeat := ""
	if every != "" {
		repeat = ", every " + every
	}
	return fmt.Sprintf("✅ Countdown %s set for %s%s (in %s)", name, target.Format(layoutShow), repeat, human(left)), nil
}

func (p *Plugin) show(channel, name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.items[(&Countdown{Channel: channel, Name: name}).id().String()]
	if !ok {
		return "", plugin.UserError("❌ No countdown named %s. Create one with !countdown %s <when>", name, name)
	}
	repeat := ""
	if c.Every != "" {
		repeat = ", every " + c.Every
	}
	return fmt.Sprintf("⏳ %s: %s left (%s%s)", c.Name, human(c.Target.Sub(p.cfg.Now())), c.Target.Format(layoutShow), repeat), nil
}

func (p *Plugin) list(channel string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var cs []*Countdown
	for _, c := range p.items {
		if c.Channel == channel {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return "📭 No countdowns. Create one with !countdown <name> <when>"
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].Target.Equal(cs[j].Target) {
			return cs[i].Target.Before(cs[j].Target)
		}
		return cs[i].Name < cs[j].Name
	})
	parts := make([]string, len(cs))
	now := p.cfg.Now()
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s in %s", c.Name, human(c.Target.Sub(now)))
		if c.Every != "" {
			parts[i] += " (every " + c.Every + ")"
		}
	}
	return "⏳ Countdowns: " + strings.Join(parts, " · ")
}

func (p *Plugin) remove(ctx context.Context, req *plugin.Request, name string) (string, error) {
	p.mu.Lock()
	cfg, h := p.cfg, p.host
	key := (&Countdown{Channel: req.Channel, Name: name}).id().String()
	c, ok := p.items[key]
	if !ok {
		p.mu.Unlock()
		return "", plugin.UserError("❌ No countdown named %s.", plugin.Clip(name, 32))
	}
	if req.Rank < protocol.RankModerator && !protocol.SameUser(req.User, c.CreatedBy) {
		p.mu.Unlock()
		return "", plugin.UserError("⛔ Only %s (who created it) or a moderator can delete %s.", c.CreatedBy, c.Name)
	}
	delete(p.items, key)
	doc := *c
	p.mu.Unlock()
	if _, err := h.DB().Delete(ctx, cfg.Collection, doc.id()); err != nil && !errors.Is(err, database.ErrNotFound) {
		return "", fmt.Errorf("countdown delete: %w", err)
	}
	return fmt.Sprintf("🗑️ Deleted countdown %s", doc.Name), nil
}
