package greeter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name. It is not "greeter": that is the name of
// examples/external-plugin, which docs/DEPLOYMENT.md runs beside the
// reference bot and its built-in plugins.
const Name = "welcome"

// Defaults of Config.
const (
	DefaultCollection   = "visitors"
	DefaultWelcome      = "👋 Welcome to {channel}, {user}!"
	DefaultWelcomeBack  = "👋 Welcome back, {user}!"
	DefaultAbsence      = 12 * time.Hour
	DefaultRate         = 3
	DefaultRateWindow   = time.Minute
	DefaultUserInterval = time.Hour
	DefaultSettle       = 5 * time.Second
	DefaultMaxGreeting  = 150
	// maxText bounds the configured texts, in runes.
	maxText = 250
)

// Texts are the greetings of one channel. {user}, {channel} and {absence}
// (how long the user was away, "3d 4h") are replaced.
type Texts struct {
	// Welcome greets a first-time visitor; "" keeps the default.
	Welcome string `json:"welcome,omitempty"`
	// WelcomeBack greets a user back after Absence.
	WelcomeBack string `json:"welcome_back,omitempty"`
	// Off turns greetings off (first-time and returning) in the channel;
	// a personal greeting is still said.
	Off bool `json:"off,omitempty"`
	// Quiet turns every greeting off in the channel, personal ones too.
	Quiet bool `json:"quiet,omitempty"`
}

// Config configures the plugin; the JSON fields come from its section of
// the bot's config and override the constructor's.
type Config struct {
	// Collection is the database collection of visitors.
	Collection string `json:"collection,omitempty"`
	Texts
	// Channels overrides the texts per channel, by channel name.
	Channels map[string]Texts `json:"channels,omitempty"`
	// Absence is how long a user must have been away to be welcomed
	// back (default 12h).
	Absence plugin.Duration `json:"absence,omitempty"`
	// Rate greetings at most per RateWindow in a channel (default 3 per
	// minute): a mass join is greeted up to the rate, the rest silently.
	Rate       int             `json:"rate,omitempty"`
	RateWindow plugin.Duration `json:"rate_window,omitempty"`
	// UserInterval is the least time between two greetings of one user
	// (default 1h), so a user whose connection flaps is greeted once.
	UserInterval plugin.Duration `json:"user_interval,omitempty"`
	// Settle: joins in the first Settle after the bot (re)joins the
	// channel are not greeted (default 5s; "0s" turns it off). Joins the
	// connector reports while the bot is away (reconnecting) never are.
	Settle *plugin.Duration `json:"settle,omitempty"`
	// MaxGreeting bounds a personal greeting, in characters (default 150).
	MaxGreeting int `json:"max_greeting,omitempty"`
	// Ignore lists users never greeted (other bots); the bot itself never is.
	Ignore []string `json:"ignore,omitempty"`
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

func checkText(field, text string) error {
	if utf8.RuneCountInString(text) > maxText {
		return fmt.Errorf("welcome: config: %s: longer than %d characters", field, maxText)
	}
	for _, p := range placeholder.FindAllString(text, -1) {
		switch p {
		case "{user}", "{channel}", "{absence}":
		default:
			return fmt.Errorf("welcome: config: %s: unknown placeholder %s (use {user}, {channel}, {absence})", field, p)
		}
	}
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "/") || strings.HasPrefix(t, "!") {
		return fmt.Errorf("welcome: config: %s: must not start with / or ! (CyTube or a bot would read a command)", field)
	}
	return nil
}

func (c *Config) defaults() error {
	if c.Collection == "" {
		c.Collection = DefaultCollection
	}
	if c.Welcome == "" {
		c.Welcome = DefaultWelcome
	}
	if c.WelcomeBack == "" {
		c.WelcomeBack = DefaultWelcomeBack
	}
	if c.Absence == 0 {
		c.Absence = plugin.Duration(DefaultAbsence)
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.RateWindow == 0 {
		c.RateWindow = plugin.Duration(DefaultRateWindow)
	}
	if c.UserInterval == 0 {
		c.UserInterval = plugin.Duration(DefaultUserInterval)
	}
	if c.Settle == nil {
		d := plugin.Duration(DefaultSettle)
		c.Settle = &d
	}
	if c.MaxGreeting == 0 {
		c.MaxGreeting = DefaultMaxGreeting
	}
	switch {
	case c.Absence < 0:
		return fmt.Errorf("welcome: config: absence: negative")
	case c.Rate < 1 || c.Rate > 100:
		return fmt.Errorf("welcome: config: rate: %d is not between 1 and 100", c.Rate)
	case c.RateWindow < plugin.Duration(time.Second):
		return fmt.Errorf("welcome: config: rate_window: %s is under 1s", time.Duration(c.RateWindow))
	case c.UserInterval < 0:
		return fmt.Errorf("welcome: config: user_interval: negative")
	case *c.Settle < 0 || *c.Settle > plugin.Duration(10*time.Minute):
		return fmt.Errorf("welcome: config: settle: %s is not between 0s and 10m", time.Duration(*c.Settle))
	case c.MaxGreeting < 1 || c.MaxGreeting > maxText:
		return fmt.Errorf("welcome: config: max_greeting: %d is not between 1 and %d", c.MaxGreeting, maxText)
	}
	if err := checkText("welcome", c.Welcome); err != nil {
		return err
	}
	if err := checkText("welcome_back", c.WelcomeBack); err != nil {
		return err
	}
	for name, t := range c.Channels {
		if err := checkText("channels."+name+".welcome", t.Welcome); err != nil {
			return err
		}
		if err := checkText("channels."+name+".welcome_back", t.WelcomeBack); err != nil {
			return err
		}
	}
	return nil
}

// texts returns the channel's texts, defaults filled in.
func (c *Config) texts(channel string) Texts {
	t, ok := c.Channels[channel]
	if !ok {
		return c.Texts
	}
	if t.Welcome == "" {
		t.Welcome = c.Welcome
	}
	if t.WelcomeBack == "" {
		t.WelcomeBack = c.WelcomeBack
	}
	return t
}

// Plugin is the greeter plugin.
type Plugin struct {
	cfg Config
}

// New returns a greeter plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func command() plugin.Command {
	return plugin.Command{
		Name:        "greeting",
		Usage:       "[text|off]",
		Description: "Sets the greeting said when you come back (registered users)",
		MinRank:     protocol.RankUser,
		Cooldown:    5 * time.Second,
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Greets first-time visitors and users coming back",
		Commands:    []plugin.Command{command()},
	}
}

// visitor is one user's document in one channel, under "<channel>/<name>"
// (lower-cased).
type visitor struct {
	Channel     string `json:"channel"`
	Name        string `json:"name"`
	FirstSeen   int64  `json:"first_seen"` // ms since the epoch
	LastSeen    int64  `json:"last_seen"`  // the last join or leave
	Here        bool   `json:"here"`
	Visits      int64  `json:"visits"`
	LastGreeted int64  `json:"last_greeted,omitempty"`
	Greeting    string `json:"greeting,omitempty"`
}

func visitorID(channel, user string) database.ID {
	return database.StringID(strings.ToLower(channel + "/" + user))
}

// Start reads the config and starts watching joins.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if err := cfg.defaults(); err != nil {
		return err
	}
	s := &server{cfg: cfg, h: h, db: h.DB(), log: h.Logger(), channels: map[string]*channelState{}}
	// One subscription keeps joins, leaves and connection changes in the
	// order the connector published them: the joins it reports while
	// rejoining come before its "connected".
	if err := h.Subscribe("cytube.>", s.onEvent); err != nil {
		return fmt.Errorf("welcome: subscribe: %w", err)
	}
	h.Handle("greeting", s.greeting)
	return nil
}

// Stop has nothing to release: the Host ends the subscription.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg Config
	h   *plugin.Host
	db  *database.Client
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]*channelState
}

// channelState is what the greeter knows of a channel, in memory.
type channelState struct {
	bot        string    // the bot's name there, once known
	away       bool      // the bot is not in the channel (reconnecting)
	quietUntil time.Time // the settle time after a (re)join
	greeted    []time.Time
}

func (s *server) channel(name string) *channelState {
	st, ok := s.channels[name]
	if !ok {
		if len(s.channels) >= 1000 { // channels come from events: bound them
			clear(s.channels)
		}
		st = &channelState{}
		s.channels[name] = st
	}
	return st
}

func (s *server) onEvent(ctx context.Context, ev *eventbus.Event) {
	switch ev.Subject {
	case protocol.Connection:
		var c protocol.ConnectionEvent
		if ev.Decode(&c) != nil {
			return
		}
		now := s.h.Clock().Now()
		s.mu.Lock()
		st := s.channel(c.Channel)
		if c.State == protocol.StateConnected {
			st.away = false
			st.quietUntil = now.Add(time.Duration(*s.cfg.Settle))
			if c.User != "" {
				st.bot = c.User
			}
		} else {
			st.away = true
		}
		s.mu.Unlock()
	case protocol.UserJoin:
		var j protocol.UserJoinEvent
		if err := ev.Decode(&j); err != nil {
			s.log.Warn("malformed join event", "err", err)
			return
		}
		s.join(ctx, j)
	case protocol.UserLeave:
		var l protocol.UserLeaveEvent
		if ev.Decode(&l) != nil || !validName(l.User) {
			return
		}
		// A user unknown so far (here before the bot) is known from now
		// on: coming back soon is not a first visit.
		now := s.h.Clock().Now().UnixMilli()
		id := visitorID(l.Channel, l.User)
		var v visitor
		set := map[string]any{"channel": l.Channel, "name": l.User, "here": false, "last_seen": now}
		if err := s.db.Get(ctx, s.cfg.Collection, id, &v); errors.Is(err, database.ErrNotFound) {
			set["first_seen"] = now
		}
		if err := s.db.Upsert(ctx, s.cfg.Collection, id, database.Update{Set: set}, nil); err != nil {
			s.log.Warn("could not record a leave", "user", l.User, "err", err)
		}
	}
}

func validName(name string) bool {
	return name != "" && utf8.RuneCountInString(name) <= 64 && strings.TrimSpace(name) == name
}

// botName is the bot's name in channel: from the connection event, else
// asked once of the connector.
func (s *server) botName(ctx context.Context, channel string) string {
	s.mu.Lock()
	name := s.channel(channel).bot
	s.mu.Unlock()
	if name != "" {
		return name
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := client.New(s.h.Bus(), channel).Bot(ctx)
	if err != nil || b.Name == "" {
		return ""
	}
	s.mu.Lock()
	s.channel(channel).bot = b.Name
	s.mu.Unlock()
	return b.Name
}

// join records the visit and greets when the rules allow.
func (s *server) join(ctx context.Context, j protocol.UserJoinEvent) {
	if !validName(j.User) || j.Rank < protocol.RankGuest { // anonymous viewers have no name
		return
	}
	if bot := s.botName(ctx, j.Channel); bot != "" && protocol.SameUser(bot, j.User) {
		return
	}
	now := s.h.Clock().Now()
	id := visitorID(j.Channel, j.User)
	var v visitor
	err := s.db.Get(ctx, s.cfg.Collection, id, &v)
	first := errors.Is(err, database.ErrNotFound)
	if err != nil && !first {
		s.log.Error("could not load a visitor", "user", j.User, "err", err)
		return
	}
	set := map[string]any{"channel": j.Channel, "name": j.User, "here": true, "last_seen": now.UnixMilli()}
	if first {
		set["first_seen"] = now.UnixMilli()
	}
	text := s.choose(j, v, first, now)
	if text != "" && s.allow(j.Channel, now) {
		set["last_greeted"] = now.UnixMilli()
	} else {
		text = ""
	}
	if err := s.db.Upsert(ctx, s.cfg.Collection, id, database.Update{Set: set, Inc: map[string]any{"visits": 1}}, nil); err != nil {
		s.log.Error("could not record a visit", "user", j.User, "err", err)
	}
	if text == "" {
		return
	}
	if err := s.h.Bus().Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: text, Channel: j.Channel}); err != nil {
		s.log.Warn("could not greet", "user", j.User, "err", err)
	}
}

// choose returns the greeting for a join, or "" for none, by the rules
// that do not depend on other users (the rate is checked after).
func (s *server) choose(j protocol.UserJoinEvent, v visitor, first bool, now time.Time) string {
	for _, name := range s.cfg.Ignore {
		if protocol.SameUser(name, j.User) {
			return ""
		}
	}
	s.mu.Lock()
	st := s.channel(j.Channel)
	quiet := st.away || now.Before(st.quietUntil)
	s.mu.Unlock()
	t := s.cfg.texts(j.Channel)
	switch {
	case quiet || t.Quiet:
		return "" // the burst of a (re)join: these users were here already
	case first:
		if t.Off {
			return ""
		}
		return fill(t.Welcome, j.User, j.Channel, 0)
	case v.LastGreeted != 0 && now.Sub(time.UnixMilli(v.LastGreeted)) < time.Duration(s.cfg.UserInterval):
		return ""
	}
	away := now.Sub(time.UnixMilli(v.LastSeen))
	if away < time.Duration(s.cfg.Absence) {
		return ""
	}
	if v.Greeting != "" {
		return fmt.Sprintf("👋 %s: %s", j.User, v.Greeting)
	}
	if t.Off {
		return ""
	}
	return fill(t.WelcomeBack, j.User, j.Channel, away)
}

// allow takes a greeting from the channel's rate, if there is one left.
func (s *server) allow(channel string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.channel(channel)
	window := time.Duration(s.cfg.RateWindow)
	kept := st.greeted[:0]
	for _, at := range st.greeted {
		if now.Sub(at) < window {
			kept = append(kept, at)
		}
	}
	st.greeted = kept
	if len(st.greeted) >= s.cfg.Rate {
		return false
	}
	st.greeted = append(st.greeted, now)
	return true
}

func fill(text, user, channel string, away time.Duration) string {
	return strings.NewReplacer("{user}", user, "{channel}", channel, "{absence}", plugin.FormatDuration(away)).Replace(text)
}

// greeting handles !greeting [text|off].
func (s *server) greeting(ctx context.Context, req *plugin.Request) (string, error) {
	id := visitorID(req.Channel, req.User)
	// Whoever uses the command is in the channel now: a user the greeter
	// had not seen yet (here before the bot) is not a first-time visitor.
	present := func(set map[string]any) map[string]any {
		now := s.h.Clock().Now().UnixMilli()
		set["channel"], set["name"], set["here"], set["last_seen"] = req.Channel, req.User, true, now
		var v visitor
		if err := s.db.Get(ctx, s.cfg.Collection, id, &v); errors.Is(err, database.ErrNotFound) {
			set["first_seen"] = now
		}
		return set
	}
	text := strings.TrimSpace(req.Text)
	switch strings.ToLower(text) {
	case "":
		var v visitor
		err := s.db.Get(ctx, s.cfg.Collection, id, &v)
		if err != nil && !errors.Is(err, database.ErrNotFound) {
			return "", fmt.Errorf("welcome: load %s: %w", req.User, err)
		}
		if v.Greeting == "" {
			return fmt.Sprintf("💬 %s, you have no greeting. Set one with !greeting <text>.", req.User), nil
		}
		return fmt.Sprintf("💬 %s, your greeting: %s", req.User, v.Greeting), nil
	case "off", "clear", "none":
		if err := s.db.Upsert(ctx, s.cfg.Collection, id, database.Update{Set: present(map[string]any{"greeting": ""})}, nil); err != nil {
			return "", fmt.Errorf("welcome: clear %s: %w", req.User, err)
		}
		return fmt.Sprintf("💬 %s, your greeting is off.", req.User), nil
	}
	if n := utf8.RuneCountInString(text); n > s.cfg.MaxGreeting {
		return "", plugin.UserError("❌ A greeting is at most %d characters (that one has %d).", s.cfg.MaxGreeting, n)
	}
	if strings.ContainsAny(text, "\r\n") {
		return "", plugin.UserError("❌ A greeting is one line.")
	}
	if err := s.db.Upsert(ctx, s.cfg.Collection, id, database.Update{Set: present(map[string]any{"greeting": text})}, nil); err != nil {
		return "", fmt.Errorf("welcome: store %s: %w", req.User, err)
	}
	return fmt.Sprintf("💬 %s, from now on I greet you back with: %s", req.User, text), nil
}
