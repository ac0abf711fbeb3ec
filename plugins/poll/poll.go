package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "poll"

// Defaults of Config.
const (
	DefaultCollection = "polls"
	DefaultOpenRank   = protocol.RankLeader
	DefaultMaxOptions = 10
	DefaultMaxTime    = time.Hour
	// MaxTitle and MaxOption are CyTube's own limits (in bytes).
	MaxTitle  = 255
	MaxOption = 255
	// cytubeMaxOptions and cytubeMaxTime are CyTube's limits on a poll.
	cytubeMaxOptions = 50
	cytubeMaxTime    = 24 * time.Hour
)

// Config configures the plugin; the JSON fields come from its section of
// the bot's config and override the constructor's.
type Config struct {
	// Collection is the database collection of recorded polls.
	Collection string `json:"collection,omitempty"`
	// OpenRank is the least rank that may open and close polls with
	// !poll (default 1.5, CyTube's default pollctl). !poll results is
	// for everyone.
	OpenRank *float64 `json:"open_rank,omitempty"`
	// MaxOptions bounds the options of a poll (default 10, at most 50).
	MaxOptions int `json:"max_options,omitempty"`
	// DefaultTime closes a poll opened without --time after that long;
	// zero (the default) leaves it open until !poll close.
	DefaultTime plugin.Duration `json:"default_time,omitempty"`
	// MaxTime is the longest --time (default 1h, at most 24h).
	MaxTime plugin.Duration `json:"max_time,omitempty"`
	// Announce says the results in the channel when a poll closes
	// (default true); false leaves that to CyTube's poll box.
	Announce *bool `json:"announce,omitempty"`
	// Channels overrides open_rank, max_options, default_time, max_time
	// and announce in a channel, by channel name.
	Channels map[string]ChannelConfig `json:"channels,omitempty"`
}

// ChannelConfig is one channel's overrides (a field left out keeps the
// plugin's value).
type ChannelConfig struct {
	OpenRank    *float64         `json:"open_rank,omitempty"`
	MaxOptions  int              `json:"max_options,omitempty"`
	DefaultTime *plugin.Duration `json:"default_time,omitempty"`
	MaxTime     plugin.Duration  `json:"max_time,omitempty"`
	Announce    *bool            `json:"announce,omitempty"`
}

// in returns the config that applies in channel.
func (c Config) in(channel string) Config {
	o, ok := c.Channels[channel]
	if !ok {
		return c
	}
	if o.OpenRank != nil {
		c.OpenRank = o.OpenRank
	}
	if o.MaxOptions != 0 {
		c.MaxOptions = o.MaxOptions
	}
	if o.DefaultTime != nil {
		c.DefaultTime = *o.DefaultTime
	}
	if o.MaxTime != 0 {
		c.MaxTime = o.MaxTime
	}
	if o.Announce != nil {
		c.Announce = o.Announce
	}
	return c
}

func (c *Config) defaults() error {
	if c.Collection == "" {
		c.Collection = DefaultCollection
	}
	if c.OpenRank == nil {
		r := float64(DefaultOpenRank)
		c.OpenRank = &r
	}
	if c.MaxOptions == 0 {
		c.MaxOptions = DefaultMaxOptions
	}
	if c.MaxTime == 0 {
		c.MaxTime = plugin.Duration(DefaultMaxTime)
	}
	if c.Announce == nil {
		t := true
		c.Announce = &t
	}
	switch {
	case c.MaxOptions < 2 || c.MaxOptions > cytubeMaxOptions:
		return fmt.Errorf("poll: config: max_options: %d is not between 2 and %d", c.MaxOptions, cytubeMaxOptions)
	case time.Duration(c.MaxTime) < time.Second || time.Duration(c.MaxTime) > cytubeMaxTime:
		return fmt.Errorf("poll: config: max_time: %s is not between 1s and 24h (CyTube's limits)", time.Duration(c.MaxTime))
	case c.DefaultTime < 0 || c.DefaultTime > c.MaxTime:
		return fmt.Errorf("poll: config: default_time: %s is not between 0 and max_time (%s)", time.Duration(c.DefaultTime), time.Duration(c.MaxTime))
	case *c.OpenRank < protocol.RankGuest || *c.OpenRank > protocol.RankFounder:
		return fmt.Errorf("poll: config: open_rank: %v is not a CyTube rank (0 to 5)", *c.OpenRank)
	}
	return nil
}

// Plugin is the poll plugin.
type Plugin struct {
	cfg Config
}

// New returns a poll plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func command() plugin.Command {
	return plugin.Command{
		Name:        "poll",
		Usage:       "<title> | <option> | <option>… [--time 2m] [--hidden] — or close, results",
		Description: "Opens a CyTube poll (leaders and up), closes it, or shows its results",
		Cooldown:    2 * time.Second,
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Opens CyTube polls, announces and records their results",
		Commands:    []plugin.Command{command()},
	}
}

// record is one poll in the database.
type record struct {
	Channel   string   `json:"channel"`
	Title     string   `json:"title"`
	Options   []string `json:"options"`
	Counts    []int    `json:"counts,omitempty"`
	Hidden    bool     `json:"hidden,omitempty"`
	OpenedBy  string   `json:"opened_by"`
	OpenedAt  int64    `json:"opened_at"`           // ms since the epoch
	ClosesAt  int64    `json:"closes_at,omitempty"` // ms, when --time was given
	ClosedAt  int64    `json:"closed_at,omitempty"`
	ClosedBy  string   `json:"closed_by,omitempty"`
	Status    string   `json:"status"` // open or closed
	Timestamp int64    `json:"timestamp,omitempty"`
}

const (
	statusOpen   = "open"
	statusClosed = "closed"
)

// Start reads the config and registers !poll and the poll events.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if err := cfg.defaults(); err != nil {
		return err
	}
	for name := range cfg.Channels {
		in := cfg.in(name)
		if err := in.defaults(); err != nil {
			return fmt.Errorf("%w (in channels.%s)", err, name)
		}
	}
	s := &server{cfg: cfg, h: h, db: h.DB(), log: h.Logger(), closers: map[string]string{}}
	// One subscription keeps opened, updated and closed in order.
	if err := h.Subscribe("cytube.poll.*", s.onPoll); err != nil {
		return fmt.Errorf("poll: subscribe: %w", err)
	}
	// A poll that closed while the bot was away sends no event: when the
	// bot (re)joins, a poll recorded open that CyTube no longer has is
	// closed with the counts last seen.
	if err := h.Subscribe(protocol.Connection, s.onConnection); err != nil {
		return fmt.Errorf("poll: subscribe: %w", err)
	}
	// So too when the plugin alone was away (restarted, reloaded): the
	// connector stayed in the channel, and no connection event comes.
	h.Go(s.reconcileAll)
	h.Handle("poll", s.command)
	return nil
}

// awayCloser is the closed_by of a poll found closed on coming back.
const awayCloser = "(closed while the bot was away)"

func (s *server) onConnection(ctx context.Context, ev *eventbus.Event) {
	var c protocol.ConnectionEvent
	if ev.Decode(&c) != nil || c.State != protocol.StateConnected {
		return
	}
	s.reconcile(ctx, c.Channel)
}

// reconcileAll reconciles every channel with a poll recorded open whose
// connector answers now; one that does not is reconciled when it
// connects.
func (s *server) reconcileAll(ctx context.Context) {
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection,
		Filter: database.Filter{"status": statusOpen}, Limit: database.MaxLimit, NoTotal: true})
	if err != nil {
		s.log.Warn("could not load the polls recorded open", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, it := range res.Items {
		var r record
		if it.Decode(&r) != nil || seen[r.Channel] {
			continue
		}
		seen[r.Channel] = true
		// Asked first without holding recMu: a channel whose connector
		// is not there yet (the whole bot starting) must not hold up the
		// poll events for the state request's timeout.
		sctx, cancel := chanwords.State(ctx)
		_, err := client.New(s.h.Bus(), r.Channel).Poll(sctx)
		cancel()
		if err == nil {
			s.reconcile(ctx, r.Channel)
		}
	}
}

// reconcile closes the channel's poll recorded open when CyTube no longer
// has it, with the counts last seen. It holds recMu from reading the
// record to writing it, so that no poll event is handled meanwhile: the
// connector's answer is then at least as new as every event handled
// before. An event of the same poll handled after (its close, or its
// opening replayed on joining) completes or reopens the record rather
// than record the poll twice (see onPoll).
func (s *server) reconcile(ctx context.Context, channel string) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	id, cur, ok, err := s.openRecord(ctx, channel)
	if err != nil || !ok {
		return
	}
	sctx, cancel := chanwords.State(ctx)
	open, err := client.New(s.h.Bus(), channel).Poll(sctx)
	cancel()
	if err != nil {
		s.log.Warn("could not check the open poll", "channel", channel, "err", err)
		return
	}
	if open != nil && open.Title == cur.Title {
		return
	}
	set := map[string]any{"status": statusClosed, "closed_at": s.h.Clock().Now().UnixMilli(), "closed_by": awayCloser}
	if err := s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
		s.log.Error("could not close a poll's record", "err", err)
	}
}

// closedAway finds the record of the poll p of channel (the same CyTube
// timestamp) that reconcile closed: an event of that poll handled after
// reconcile belongs to it.
func (s *server) closedAway(ctx context.Context, channel string, p *protocol.Poll) (database.ID, bool) {
	if p.Timestamp == 0 {
		return database.ID{}, false
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection,
		Filter: database.Filter{"channel": channel, "title": p.Title, "timestamp": p.Timestamp, "closed_by": awayCloser},
		Sort:   []string{"-opened_at"}, Limit: 1, NoTotal: true})
	if err != nil {
		s.log.Error("could not look for a poll closed on coming back", "channel", channel, "err", err)
		return database.ID{}, false
	}
	if len(res.Items) == 0 {
		return database.ID{}, false
	}
	return res.Items[0].ID, true
}

// Stop has nothing to release: the Host ends the subscription.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg Config
	h   *plugin.Host
	db  *database.Client
	log *slog.Logger

	// recMu makes finding and creating a channel's open record one step
	// (the command and the opened event race to record the same poll).
	recMu sync.Mutex
	mu    sync.Mutex
	// closers remembers, per channel, who asked !poll close, for the
	// record the closed event completes.
	closers map[string]string
}

var (
	timeFlag   = regexp.MustCompile(`(?i)(?:^|\s)--time(?:=|\s+)(\S+)`)
	hiddenFlag = regexp.MustCompile(`(?i)(?:^|\s)--hidden(?:\s|$)`)
	badFlag    = regexp.MustCompile(`(?:^|\s)(--\S+)`)
)

func (s *server) command(ctx context.Context, req *plugin.Request) (string, error) {
	cfg := s.cfg.in(req.Channel)
	switch strings.ToLower(req.Text) {
	case "":
		return "", plugin.Usage(command())
	case "results", "result":
		return s.results(ctx, req)
	case "close", "end":
		if err := mayControl(cfg, req, "close"); err != nil {
			return "", err
		}
		s.mu.Lock()
		s.closers[req.Channel] = req.User
		s.mu.Unlock()
		if err := client.New(s.h.Bus(), req.Channel).ClosePoll(ctx); err != nil {
			// Nothing closed: the next poll someone closes is not theirs.
			s.mu.Lock()
			if s.closers[req.Channel] == req.User {
				delete(s.closers, req.Channel)
			}
			s.mu.Unlock()
			if errors.Is(err, client.ErrNotFound) {
				return "", plugin.UserError("❌ There is no poll open.")
			}
			return "", chanwords.Explain(err, "close polls")
		}
		if !*cfg.Announce {
			return "📊 Poll closed.", nil
		}
		return "", nil // the results are said when CyTube reports the poll closed
	}
	if err := mayControl(cfg, req, "open"); err != nil {
		return "", err
	}
	po, err := parse(cfg, req.Text)
	if err != nil {
		return "", err
	}
	c := client.New(s.h.Bus(), req.Channel)
	// CyTube replaces an open poll without a word: refuse instead, so a
	// running vote is never lost by accident.
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	if open, err := c.Poll(sctx); err != nil {
		return "", chanwords.Explain(err, "open polls")
	} else if open != nil {
		return "", plugin.UserError("❌ A poll is already open: “%s”. Close it first with !poll close.", open.Title)
	}
	asked := s.h.Clock().Now()
	if err := c.OpenPoll(ctx, po); err != nil {
		return "", chanwords.Explain(err, "open polls")
	}
	now := s.h.Clock().Now()
	rec := record{Channel: req.Channel, Title: po.Title, Options: po.Options, Hidden: po.Hidden, OpenedBy: req.User,
		OpenedAt: now.UnixMilli(), Status: statusOpen}
	if po.Timeout > 0 {
		rec.ClosesAt = now.Add(po.Timeout).UnixMilli()
	}
	s.store(ctx, rec, asked)
	var b strings.Builder
	fmt.Fprintf(&b, "📊 Poll open: “%s” — %s.", po.Title, strings.Join(po.Options, " / "))
	if po.Timeout > 0 {
		fmt.Fprintf(&b, " Closes in %s.", plugin.FormatDuration(po.Timeout))
	}
	if po.Hidden {
		b.WriteString(" Counts stay hidden until it closes.")
	}
	b.WriteString(" Vote in the poll box!")
	return b.String(), nil
}

// store records a poll the bot opened (asked for at since), unless the
// opened event recorded it first: then it completes that record with who
// asked, even when the poll has closed already (closed at once in
// CyTube's page, or by a short --time).
func (s *server) store(ctx context.Context, rec record, since time.Time) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	id, cur, ok, err := s.openRecord(ctx, rec.Channel)
	if err != nil {
		return
	}
	if !ok || cur.Title != rec.Title {
		res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection,
			Filter: database.Filter{"channel": rec.Channel, "title": rec.Title, "status": statusClosed,
				"opened_at": database.Filter{"$gte": since.UnixMilli()}},
			Sort: []string{"-opened_at"}, Limit: 1, NoTotal: true})
		if err != nil {
			s.log.Error("could not look for a poll closed already", "channel", rec.Channel, "err", err)
			return
		}
		if len(res.Items) == 1 {
			id, ok = res.Items[0].ID, true
			cur.Title = rec.Title
		}
	}
	if ok && cur.Title == rec.Title {
		set := map[string]any{"opened_by": rec.OpenedBy, "hidden": rec.Hidden}
		if rec.ClosesAt != 0 {
			set["closes_at"] = rec.ClosesAt
		}
		if err := s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
			s.log.Error("could not record a poll", "err", err)
		}
		return
	}
	if _, err := s.db.Set(ctx, s.cfg.Collection, database.ID{}, rec); err != nil {
		s.log.Error("could not record a poll", "err", err)
	}
}

func mayControl(cfg Config, req *plugin.Request, verb string) error {
	if req.Rank < *cfg.OpenRank {
		return plugin.UserError("⛔ Only %s (rank %v) and up may %s polls.", protocol.RankName(*cfg.OpenRank)+"s", *cfg.OpenRank, verb)
	}
	return nil
}

// parse reads "<title> | <option> | <option>… [--time 2m] [--hidden]".
func parse(cfg Config, text string) (client.PollOptions, error) {
	var po client.PollOptions
	usage := plugin.Usage(command())
	if m := timeFlag.FindStringSubmatch(text); m != nil {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			return po, plugin.UserError("❌ --time wants a duration such as 90s, 2m or 1h, not %q.", plugin.Clip(m[1], 20))
		}
		if d < time.Second || d > time.Duration(cfg.MaxTime) {
			return po, plugin.UserError("❌ --time must be between 1s and %s.", plugin.FormatDuration(time.Duration(cfg.MaxTime)))
		}
		po.Timeout = d.Round(time.Second)
		text = timeFlag.ReplaceAllString(text, " ")
	} else {
		po.Timeout = time.Duration(cfg.DefaultTime)
	}
	if hiddenFlag.MatchString(text) {
		po.Hidden = true
		text = hiddenFlag.ReplaceAllString(text, " ")
	}
	if m := badFlag.FindStringSubmatch(text); m != nil {
		return po, plugin.UserError("❌ Unknown option %s: use --time 2m or --hidden.", plugin.Clip(m[1], 20))
	}
	parts := strings.Split(text, "|")
	if len(parts) < 3 {
		return po, usage
	}
	po.Title = strings.TrimSpace(parts[0])
	if po.Title == "" {
		return po, plugin.UserError("❌ The poll needs a title before the first |.")
	}
	if len(po.Title) > MaxTitle {
		return po, plugin.UserError("❌ The title is too long (at most %d bytes).", MaxTitle)
	}
	seen := map[string]bool{}
	for _, o := range parts[1:] {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
			return po, plugin.UserError("❌ An option is empty: write options between | signs.")
		case len(o) > MaxOption:
			return po, plugin.UserError("❌ Option “%s” is too long (at most %d bytes).", plugin.Clip(o, 20), MaxOption)
		case seen[strings.ToLower(o)]:
			return po, plugin.UserError("❌ Option “%s” is listed twice.", plugin.Clip(o, 40))
		}
		seen[strings.ToLower(o)] = true
		po.Options = append(po.Options, o)
	}
	if len(po.Options) > cfg.MaxOptions {
		return po, plugin.UserError("❌ Too many options: at most %d.", cfg.MaxOptions)
	}
	return po, nil
}

// results shows the open poll's counts, or the last recorded poll's.
func (s *server) results(ctx context.Context, req *plugin.Request) (string, error) {
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	open, err := client.New(s.h.Bus(), req.Channel).Poll(sctx)
	if err != nil && !errors.Is(err, client.ErrNotConnected) {
		return "", chanwords.Explain(err, "see the poll")
	}
	if open != nil {
		if open.Hidden || open.Counts == nil {
			return fmt.Sprintf("🙈 The counts of “%s” stay hidden until it closes.", open.Title), nil
		}
		return fmt.Sprintf("📊 “%s” so far: %s", open.Title, tally(open.Options, open.Counts)), nil
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection,
		Filter: database.Filter{"channel": req.Channel, "status": statusClosed}, Sort: []string{"-closed_at"}, Limit: 1, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("poll: load the last poll: %w", err)
	}
	if len(res.Items) == 0 {
		return "🤷 No poll is open, and I have not seen one close here yet.", nil
	}
	var r record
	if err := res.Items[0].Decode(&r); err != nil {
		return "", err
	}
	ago := "just now"
	if d := s.h.Clock().Now().Sub(time.UnixMilli(r.ClosedAt)); d >= time.Second {
		ago = plugin.FormatDuration(d) + " ago"
	}
	return fmt.Sprintf("📊 Last poll, “%s” (closed %s): %s", r.Title, ago, tally(r.Options, r.Counts)), nil
}

// tally writes "pizza 3, soup 1 (4 votes): pizza wins".
func tally(options []string, counts []int) string {
	if len(counts) != len(options) {
		return strings.Join(options, " / ") + " (counts unknown)"
	}
	var parts []string
	total, best, tied := 0, -1, false
	for i, o := range options {
		parts = append(parts, fmt.Sprintf("%s %d", o, counts[i]))
		total += counts[i]
		switch {
		case best < 0 || counts[i] > counts[best]:
			best, tied = i, false
		case counts[i] == counts[best]:
			tied = true
		}
	}
	out := strings.Join(parts, ", ")
	switch {
	case total == 0:
		return out + " (no votes)"
	case tied:
		return fmt.Sprintf("%s (%d votes): a tie", out, total)
	case total == 1:
		return fmt.Sprintf("%s (1 vote): %s wins", out, options[best])
	}
	return fmt.Sprintf("%s (%d votes): %s wins", out, total, options[best])
}

// openRecord finds the channel's poll recorded as open.
func (s *server) openRecord(ctx context.Context, channel string) (database.ID, record, bool, error) {
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection,
		Filter: database.Filter{"channel": channel, "status": statusOpen}, Sort: []string{"-opened_at"}, Limit: 1, NoTotal: true})
	if err != nil {
		// Not "no open poll": the caller would record the poll a second time.
		s.log.Error("could not load the open poll", "channel", channel, "err", err)
		return database.ID{}, record{}, false, err
	}
	if len(res.Items) == 0 {
		return database.ID{}, record{}, false, nil
	}
	var r record
	if err := res.Items[0].Decode(&r); err != nil {
		return database.ID{}, record{}, false, nil
	}
	return res.Items[0].ID, r, true, nil
}

// onPoll records polls opened by anyone and completes the record, and
// announces the results, when one closes.
func (s *server) onPoll(ctx context.Context, ev *eventbus.Event) {
	var pe protocol.PollEvent
	if err := ev.Decode(&pe); err != nil || pe.Poll == nil {
		s.log.Warn("malformed poll event", "subject", ev.Subject, "err", err)
		return
	}
	p := pe.Poll
	if len(p.Options) > cytubeMaxOptions || len(p.Title) > 4*MaxTitle {
		s.log.Warn("poll event out of bounds", "options", len(p.Options))
		return
	}
	now := s.h.Clock().Now().UnixMilli()
	s.recMu.Lock()
	defer s.recMu.Unlock()
	switch ev.Subject {
	case protocol.PollOpened:
		id, cur, ok, err := s.openRecord(ctx, pe.Channel)
		if err != nil {
			return
		}
		if ok && cur.Title == p.Title && (cur.Timestamp == 0 || cur.Timestamp == p.Timestamp) {
			// The bot's own poll (recorded by !poll), or the same poll
			// again after a reconnect.
			_ = s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: map[string]any{"timestamp": p.Timestamp}}, nil)
			return
		}
		if ok { // a poll CyTube replaced without a close we saw
			_ = s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: map[string]any{"status": statusClosed, "closed_at": now}}, nil)
		}
		if id, found := s.closedAway(ctx, pe.Channel, p); found {
			// Still open after all (reconcile asked before the connector
			// had it again): open again, not a second record.
			set := map[string]any{"status": statusOpen, "closed_at": 0, "closed_by": ""}
			if err := s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
				s.log.Error("could not reopen a poll's record", "err", err)
			}
			return
		}
		rec := record{Channel: pe.Channel, Title: p.Title, Options: p.Options, Hidden: p.Hidden, OpenedBy: p.Initiator,
			OpenedAt: now, Status: statusOpen, Timestamp: p.Timestamp}
		if _, err := s.db.Set(ctx, s.cfg.Collection, database.ID{}, rec); err != nil {
			s.log.Error("could not record a poll", "err", err)
		}
	case protocol.PollUpdated:
		if id, cur, ok, _ := s.openRecord(ctx, pe.Channel); ok && cur.Title == p.Title && p.Counts != nil {
			_ = s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: map[string]any{"counts": p.Counts}}, nil)
		}
	case protocol.PollClosed:
		s.mu.Lock()
		by := s.closers[pe.Channel]
		delete(s.closers, pe.Channel)
		s.mu.Unlock()
		set := map[string]any{"status": statusClosed, "closed_at": now}
		if p.Counts != nil {
			set["counts"] = p.Counts
		}
		if by != "" {
			set["closed_by"] = by
		}
		id, cur, ok, err := s.openRecord(ctx, pe.Channel)
		switch {
		case err != nil: // logged; the results are still announced below
		case ok && cur.Title == p.Title:
			if err := s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
				s.log.Error("could not record a poll's results", "err", err)
			}
		case s.completeAway(ctx, pe.Channel, p, set, by):
		default:
			rec := record{Channel: pe.Channel, Title: p.Title, Options: p.Options, Counts: p.Counts, Hidden: p.Hidden,
				OpenedBy: p.Initiator, OpenedAt: now, ClosedAt: now, ClosedBy: by, Status: statusClosed, Timestamp: p.Timestamp}
			if _, err := s.db.Set(ctx, s.cfg.Collection, database.ID{}, rec); err != nil {
				s.log.Error("could not record a poll", "err", err)
			}
		}
		if !*s.cfg.in(pe.Channel).Announce {
			return
		}
		msg := fmt.Sprintf("📊 Poll closed: “%s” — %s", plugin.Clip(p.Title, 100), tally(p.Options, p.Counts))
		if p.Counts == nil {
			msg = fmt.Sprintf("📊 Poll closed: “%s” (I could not see its counts).", plugin.Clip(p.Title, 100))
		}
		if err := s.h.Bus().Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: msg, Channel: pe.Channel}); err != nil {
			s.log.Warn("could not announce a poll's results", "err", err)
		}
	}
}

// completeAway completes with its close the record reconcile closed of
// poll p, if there is one: reconcile found it closed just before this
// event was handled. It reports whether it did.
func (s *server) completeAway(ctx context.Context, channel string, p *protocol.Poll, set map[string]any, by string) bool {
	id, found := s.closedAway(ctx, channel, p)
	if !found {
		return false
	}
	set["closed_by"] = by // who closed it, or nobody known: not "away"
	if err := s.db.Update(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
		s.log.Error("could not record a poll's results", "err", err)
	}
	return true
}
