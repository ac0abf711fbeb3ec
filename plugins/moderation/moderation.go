package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "moderation"

// Defaults of Config.
const (
	DefaultCollection  = "actions"
	DefaultRank        = protocol.RankModerator
	DefaultModlogLines = 5
	DefaultMaxReason   = 100
)

// The actions, as recorded and as command names.
const (
	Kick   = "kick"
	Ban    = "ban"
	Mute   = "mute"
	Unmute = "unmute"
	Warn   = "warn"
)

var actions = []string{Kick, Ban, Mute, Unmute, Warn}

// Config configures the plugin; the JSON fields come from its section of
// the bot's config and override the constructor's.
type Config struct {
	// Collection is the database collection of recorded actions.
	Collection string `json:"collection,omitempty"`
	// Admins are never the target of an action, whatever their rank in
	// the channel, nor judged by the automod. The router's admins are
	// too: the plugin asks the router for them (platform.router.admins).
	Admins []string `json:"admins,omitempty"`
	// Ranks raises the least rank of a command (kick, ban, mute, unmute,
	// warn, modlog) above the default, moderator (2); !help shows it (the
	// lowest one any channel allows, when channels set their own).
	Ranks map[string]float64 `json:"ranks,omitempty"`
	// ModlogLines is how many actions !modlog sends (default 5, at most 20).
	ModlogLines int `json:"modlog_lines,omitempty"`
	// MaxReason bounds a reason, in characters (default 100).
	MaxReason int `json:"max_reason,omitempty"`
	// BanIP bans the user's addresses too (CyTube's /ipban).
	BanIP bool `json:"ban_ip,omitempty"`
	// Automod judges every chat line against rules (all off by default)
	// and acts on offenders through an escalation ladder.
	Automod Automod `json:"automod"`
	// Channels adds admins, sets ranks and changes the automod in a
	// channel, by channel name.
	Channels map[string]ChannelConfig `json:"channels,omitempty"`
}

// ChannelConfig is one channel's additions: its admins are protected
// besides the plugin's, its ranks override the plugin's, and its automod
// changes the fields it writes of the plugin's.
type ChannelConfig struct {
	Admins  []string           `json:"admins,omitempty"`
	Ranks   map[string]float64 `json:"ranks,omitempty"`
	Automod *Automod           `json:"automod,omitempty"`
}

// in returns the config that applies in channel.
func (c Config) in(channel string) Config {
	o, ok := c.Channels[channel]
	if !ok {
		return c
	}
	c.Admins = append(append([]string(nil), c.Admins...), o.Admins...)
	ranks := make(map[string]float64, len(c.Ranks)+len(o.Ranks))
	for k, v := range c.Ranks {
		ranks[k] = v
	}
	for k, v := range o.Ranks {
		ranks[k] = v
	}
	c.Ranks = ranks
	return c
}

func (c *Config) defaults() error {
	if c.Collection == "" {
		c.Collection = DefaultCollection
	}
	if c.ModlogLines == 0 {
		c.ModlogLines = DefaultModlogLines
	}
	if c.MaxReason == 0 {
		c.MaxReason = DefaultMaxReason
	}
	switch {
	case c.ModlogLines < 1 || c.ModlogLines > 20:
		return fmt.Errorf("moderation: config: modlog_lines: %d is not between 1 and 20", c.ModlogLines)
	case c.MaxReason < 1 || c.MaxReason > 200:
		return fmt.Errorf("moderation: config: max_reason: %d is not between 1 and 200", c.MaxReason)
	}
	for cmd, r := range c.Ranks {
		if cmd != "modlog" && !contains(actions, cmd) {
			return fmt.Errorf("moderation: config: ranks: no command %q (kick, ban, mute, unmute, warn, modlog)", cmd)
		}
		if r < DefaultRank || r > protocol.RankFounder {
			return fmt.Errorf("moderation: config: ranks.%s: %v is not between %v (moderator) and 5", cmd, r, DefaultRank)
		}
	}
	for _, a := range c.Admins {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("moderation: config: admins: an empty name")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Plugin is the moderation plugin.
type Plugin struct {
	cfg Config
	// ranks is each command's least rank in any channel, known once
	// Start has read the config; Info shows it.
	ranks atomic.Pointer[map[string]float64]
}

// New returns a moderation plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

var descriptions = map[string]string{
	Kick:   "Kicks a user from the channel",
	Ban:    "Bans a user from the channel",
	Mute:   "Mutes a user in the channel's chat",
	Unmute: "Lifts a user's mute",
	Warn:   "Warns a user in chat; warnings are counted",
}

func commands(ranks map[string]float64) []plugin.Command {
	rank := func(cmd string) float64 {
		if r, ok := ranks[cmd]; ok {
			return r
		}
		return DefaultRank
	}
	var out []plugin.Command
	for _, a := range actions {
		out = append(out, plugin.Command{Name: a, Usage: "<user> [reason]", Description: descriptions[a],
			MinRank: rank(a), Cooldown: time.Second})
	}
	return append(out, plugin.Command{Name: "modlog", Usage: "[user]", Description: "Sends you the latest moderation actions by PM",
		MinRank: rank("modlog"), Cooldown: 5 * time.Second})
}

// Info describes the plugin. After Start, each command's rank is the one
// the config sets (the lowest of the plugin's and the channels'), so the
// router refuses below it and !help shows it.
func (p *Plugin) Info() plugin.Info {
	var ranks map[string]float64
	if r := p.ranks.Load(); r != nil {
		ranks = *r
	}
	return plugin.Info{
		Name:        Name,
		Version:     "1.1.0",
		Description: "Kick, ban, mute and warn, checked against ranks, with a log; automod",
		Commands:    commands(ranks),
	}
}

// record is one action in the database.
type record struct {
	Channel string `json:"channel"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	// TargetKey is Target lower-cased, for !modlog <user> and counts.
	TargetKey string  `json:"target_key"`
	By        string  `json:"by"`
	ByRank    float64 `json:"by_rank"`
	Reason    string  `json:"reason,omitempty"`
	At        int64   `json:"at"` // ms since the epoch
	// Rule is the automod rule an automod action is for.
	Rule string `json:"rule,omitempty"`
	// Until is when an automod mute ends, ms since the epoch.
	Until int64 `json:"until,omitempty"`
	// Status is StatusUnconfirmed for an action CyTube did not answer;
	// empty for one it confirmed.
	Status string `json:"status,omitempty"`
}

// StatusUnconfirmed marks a recorded kick, ban or (un)mute that was sent
// but that CyTube did not answer (in time, or before the connection
// dropped): it may or may not have happened, and moderators see it was
// attempted.
const StatusUnconfirmed = "unconfirmed"

// unanswered reports whether err means the action was sent and no answer
// came (rather than refused, or never sent).
func unanswered(err error) bool {
	return errors.Is(err, client.ErrTimeout) || errors.Is(err, client.ErrUnknownOutcome) ||
		errors.Is(err, eventbus.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// recordContext bounds a record's write by its own time: after an action
// timed out the command's context may be over.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// Start reads the config and registers the commands.
func (p *Plugin) Start(ctx context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if err := cfg.defaults(); err != nil {
		return err
	}
	global, err := cfg.Automod.compile(cfg.Admins)
	if err != nil {
		return err
	}
	// The channels' automod sections as written, so that only the fields
	// they name change the plugin's.
	var raw struct {
		Channels map[string]struct {
			Automod json.RawMessage `json:"automod"`
		} `json:"channels"`
	}
	if c := h.Config(); len(c) > 0 {
		_ = json.Unmarshal(c, &raw) // DecodeConfig has checked it
	}
	chans := map[string]*rules{}
	for name, cc := range cfg.Channels {
		in := cfg.in(name)
		if err := in.defaults(); err != nil {
			return fmt.Errorf("%w (in channels.%s)", err, name)
		}
		am, err := channelAutomod(cfg.Automod, raw.Channels[name].Automod, cc.Automod)
		if err == nil {
			chans[name], err = am.compile(in.Admins)
		}
		if err != nil {
			return fmt.Errorf("%w (in channels.%s)", err, name)
		}
	}
	ranks := map[string]float64{}
	for _, c := range append(append([]string(nil), actions...), "modlog") {
		r := minRank(cfg, c)
		for name := range cfg.Channels {
			r = min(r, minRank(cfg.in(name), c))
		}
		ranks[c] = r
	}
	p.ranks.Store(&ranks)
	s := &server{cfg: cfg, h: h, db: h.DB(), log: h.Logger()}
	s.auto = newAutomod(s, global, chans)
	if err := s.auto.start(ctx); err != nil {
		return err
	}
	for _, a := range actions {
		h.Handle(a, func(ctx context.Context, req *plugin.Request) (string, error) { return s.act(ctx, a, req) })
	}
	h.Handle("modlog", s.modlog)
	return nil
}

// Stop has nothing to release.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg  Config
	h    *plugin.Host
	db   *database.Client
	log  *slog.Logger
	auto *automod

	adminsMu sync.Mutex                      // one question to the router at a time
	admins   atomic.Pointer[map[string]bool] // the router's, lower-cased
	adminsAt atomic.Int64                    // when last asked, unix ns
}

func minRank(cfg Config, cmd string) float64 {
	if r, ok := cfg.Ranks[cmd]; ok {
		return r
	}
	return DefaultRank
}

func usage(cmd string) error {
	for _, c := range commands(nil) {
		if c.Name == cmd {
			return plugin.Usage(c)
		}
	}
	return plugin.UserError("❌ Usage: !%s", cmd)
}

var (
	verbs = map[string]string{Kick: "kick", Ban: "ban", Mute: "mute", Unmute: "unmute", Warn: "warn"}
	done  = map[string]string{Kick: "👢 %s kicked %s", Ban: "🔨 %s banned %s", Mute: "🔇 %s muted %s", Unmute: "🔊 %s unmuted %s", Warn: "⚠️ %s warned %s"}
)

// act checks and performs one action.
func (s *server) act(ctx context.Context, action string, req *plugin.Request) (string, error) {
	cfg := s.cfg.in(req.Channel)
	if r := minRank(cfg, action); req.Rank < r {
		return "", plugin.UserError("⛔ !%s needs rank %s (%v) or higher here.", action, protocol.RankName(r), r)
	}
	if len(req.Args) == 0 {
		return "", usage(action)
	}
	target := strings.TrimLeft(req.Args[0], "@")
	if target == "" || utf8.RuneCountInString(target) > 64 {
		return "", usage(action)
	}
	reason := strings.Join(strings.Fields(strings.TrimSpace(strings.TrimPrefix(req.Text, req.Args[0]))), " ")
	if n := utf8.RuneCountInString(reason); n > s.cfg.MaxReason {
		return "", plugin.UserError("❌ A reason is at most %d characters (that one has %d).", s.cfg.MaxReason, n)
	}
	verb := verbs[action]
	if protocol.SameUser(target, req.User) {
		return "", plugin.UserError("❌ You cannot %s yourself.", verb)
	}
	if s.protected(req.Channel, target) {
		return "", plugin.UserError("⛔ %s is a bot admin here: nobody may %s them through me.", target, verb)
	}
	c := client.New(s.h.Bus(), req.Channel)
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	bot, err := c.Bot(sctx)
	if err != nil {
		return "", chanwords.Explain(err, verb)
	}
	if protocol.SameUser(target, bot.Name) {
		return "", plugin.UserError("❌ I will not %s myself.", verb)
	}
	users, err := c.Users(sctx)
	if err != nil {
		return "", chanwords.Explain(err, verb)
	}
	var present *protocol.User
	for i := range users {
		if protocol.SameUser(users[i].Name, target) {
			present = &users[i]
		}
	}
	if present != nil {
		target = present.Name
		if present.Rank >= req.Rank {
			return "", plugin.UserError("⛔ You may not %s %s: their rank (%s) is not below yours.", verb, target, protocol.RankName(present.Rank))
		}
		if action != Warn && present.Rank >= bot.Rank {
			return "", plugin.UserError("⛔ I cannot %s %s: their rank (%s) is not below mine (%s).", verb, target, protocol.RankName(present.Rank), protocol.RankName(bot.Rank))
		}
	} else if action != Ban {
		// A ban may name someone absent (CyTube bans the name); the
		// others need the user here, and their rank known.
		return "", plugin.UserError("❌ %s is not in the channel.", target)
	}

	switch action {
	case Kick:
		err = c.Kick(ctx, target, reason)
	case Ban:
		err = c.Ban(ctx, target, reason, s.cfg.BanIP)
	case Mute:
		err = c.Mute(ctx, target)
	case Unmute:
		err = c.Unmute(ctx, target)
	}
	if err != nil && unanswered(err) {
		// Sent, but CyTube said nothing: it may have happened, so it is
		// logged for the moderators to see what was attempted.
		rec := record{Channel: req.Channel, Action: action, Target: target, TargetKey: strings.ToLower(target),
			By: req.User, ByRank: req.Rank, Reason: reason, At: s.h.Clock().Now().UnixMilli(), Status: StatusUnconfirmed}
		what := fmt.Sprintf("CyTube did not answer %s's %s of %s in time", req.User, verb, target)
		if errors.Is(err, client.ErrUnknownOutcome) {
			what = fmt.Sprintf("The connection to CyTube dropped before it answered %s's %s of %s", req.User, verb, target)
		}
		wctx, wcancel := recordContext(ctx)
		defer wcancel()
		if _, werr := s.db.Set(wctx, s.cfg.Collection, database.ID{}, rec); werr != nil {
			s.log.Error("could not record an unconfirmed moderation action", "action", action, "target", target, "err", werr)
			return "", plugin.UserError("⚠️ %s: it may have happened or not (not recorded: the database failed).", what)
		}
		return "", plugin.UserError("⚠️ %s: it may have happened or not; it is logged as unconfirmed.", what)
	}
	if err != nil {
		return "", chanwords.Explain(err, verb)
	}
	if action == Mute || action == Unmute {
		// A moderator has taken the user's mute in hand: the automod's
		// end of an earlier mute must not lift this one.
		s.auto.forget(ctx, req.Channel, target)
	}
	now := s.h.Clock().Now()
	rec := record{Channel: req.Channel, Action: action, Target: target, TargetKey: strings.ToLower(target),
		By: req.User, ByRank: req.Rank, Reason: reason, At: now.UnixMilli()}
	if _, err := s.db.Set(ctx, s.cfg.Collection, database.ID{}, rec); err != nil {
		// The action happened: say so, and that it is not in the log.
		s.log.Error("could not record a moderation action", "action", action, "target", target, "err", err)
		return fmt.Sprintf(done[action]+" (not recorded: the database failed).", req.User, target), nil
	}
	if action == Warn {
		n, err := s.db.Count(ctx, s.cfg.Collection, database.Filter{"channel": req.Channel, "action": Warn, "target_key": rec.TargetKey})
		if err != nil {
			return "", fmt.Errorf("moderation: count warnings: %w", err)
		}
		msg := fmt.Sprintf("⚠️ %s, this is warning %d from %s", target, n, req.User)
		if reason != "" {
			msg += ": " + reason
		}
		if req.Source == plugin.SourcePM { // the warning is said in chat all the same
			if err := s.h.Bus().Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: msg, Channel: req.Channel}); err != nil {
				return "", fmt.Errorf("moderation: say the warning: %w", err)
			}
			return fmt.Sprintf("⚠️ Warned %s (warning %d).", target, n), nil
		}
		return msg, nil
	}
	msg := fmt.Sprintf(done[action], req.User, target)
	if reason != "" {
		msg += ": " + reason
	}
	return msg + ".", nil
}

// modlog sends the latest actions, of everyone or of one user, by PM.
func (s *server) modlog(ctx context.Context, req *plugin.Request) (string, error) {
	if r := minRank(s.cfg.in(req.Channel), "modlog"); req.Rank < r {
		return "", plugin.UserError("⛔ !modlog needs rank %s (%v) or higher here.", protocol.RankName(r), r)
	}
	if len(req.Args) > 1 {
		return "", usage("modlog")
	}
	filter := database.Filter{"channel": req.Channel}
	about := ""
	if len(req.Args) == 1 {
		who := strings.TrimLeft(req.Args[0], "@")
		if who == "" || utf8.RuneCountInString(who) > 64 {
			return "", usage("modlog")
		}
		filter["target_key"] = strings.ToLower(who)
		about = " about " + who
	}
	// The latest first, in the order they were done (several share a
	// millisecond in a burst): the highest ids, which the database service
	// assigned in that order, read through its index of ids. The count is
	// shown, so it is asked once, not again with the page.
	n, err := s.db.Count(ctx, s.cfg.Collection, filter)
	if err != nil {
		return "", fmt.Errorf("moderation: load the log: %w", err)
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection, Filter: filter,
		Sort: []string{"-" + database.SortByID}, Limit: s.cfg.ModlogLines, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("moderation: load the log: %w", err)
	}
	// Actions logged between the count and the page may be on the page.
	n = max(n, int64(len(res.Items)))
	lines := []string{fmt.Sprintf("📜 Moderation log of %s%s: %d action(s), the latest %d:", req.Channel, about, n, len(res.Items))}
	if len(res.Items) == 0 {
		lines = []string{fmt.Sprintf("📜 Moderation log of %s%s: nothing yet.", req.Channel, about)}
	}
	for _, it := range res.Items {
		var r record
		if err := it.Decode(&r); err != nil {
			continue
		}
		line := fmt.Sprintf("%s — %s: %s %s", time.UnixMilli(r.At).UTC().Format("2006-01-02 15:04 UTC"), r.By, r.Action, r.Target)
		if r.Reason != "" {
			line += " (" + r.Reason + ")"
		}
		if r.Status == StatusUnconfirmed {
			line += " — unconfirmed: CyTube did not answer"
		}
		lines = append(lines, line)
	}
	for _, l := range lines {
		if err := s.h.Bus().Publish(ctx, protocol.SendPM, protocol.SendPMRequest{To: req.User, Message: l, Channel: req.Channel}); err != nil {
			return "", fmt.Errorf("moderation: pm %s: %w", req.User, err)
		}
	}
	if req.Source == plugin.SourcePM {
		return "", nil
	}
	return fmt.Sprintf("📬 %s, I sent you the moderation log by PM.", req.User), nil
}
