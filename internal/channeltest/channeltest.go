package channeltest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/plugin"
)

// Timeout bounds every wait: generous, so tests hold on a loaded machine.
const Timeout = 20 * time.Second

// Defaults of a Channel.
const (
	DefaultChannel = "lounge"
	DefaultBot     = "RoseyBot"
	botPassword    = "hunter2"
)

type options struct {
	plugins  []plugin.Plugin
	sections map[string]json.RawMessage
	channel  *cytubetest.ChannelConfig
	rank     float64
	dir      string
	server   *cytubetest.Server
	edit     []func(*rosey.Config)
	logLevel slog.Level
	more     []string
}

// Option changes how Start sets up the channel and the bot.
type Option func(*options)

// WithPlugins runs ps in the bot.
func WithPlugins(ps ...plugin.Plugin) Option {
	return func(o *options) { o.plugins = append(o.plugins, ps...) }
}

// WithPluginConfig sets a plugin's config section; v is marshalled to JSON.
func WithPluginConfig(name string, v any) Option {
	return func(o *options) {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("channeltest: config of %s: %v", name, err))
		}
		o.sections[name] = raw
	}
}

// WithChannel adds the channel to the fake server with cc before the bot
// joins (a registered channel has CyTube's stricter permissions and the
// moderation commands). Without it the channel is unregistered.
func WithChannel(cc cytubetest.ChannelConfig) Option {
	return func(o *options) { o.channel = &cc }
}

// WithBotRank logs the bot in to an account of that global rank (default 0:
// a guest-level account).
func WithBotRank(rank float64) Option { return func(o *options) { o.rank = rank } }

// WithDataDir keeps the database in dir, so a second bot started on it (a
// restart) finds the first one's data. Default: a new t.TempDir().
func WithDataDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithServer runs the bot against an existing fake server (to restart a bot
// in the same channel) instead of a new one.
func WithServer(srv *cytubetest.Server) Option { return func(o *options) { o.server = srv } }

// WithChannels makes the bot join more channels of the same server
// (rosey.Config.Channels, a connector each); In gives a view of one.
func WithChannels(names ...string) Option {
	return func(o *options) { o.more = append(o.more, names...) }
}

// WithConfig edits the bot's configuration (router admins, prefix, clock…).
func WithConfig(fn func(*rosey.Config)) Option {
	return func(o *options) { o.edit = append(o.edit, fn) }
}

// Channel is a bot in a channel of a fake CyTube server.
type Channel struct {
	// Server is the fake CyTube server: set the channel up and read its
	// state through its hooks.
	Server *cytubetest.Server
	// Bot is the running bot.
	Bot *rosey.Bot
	// Name is the channel's name, BotName the bot's user name.
	Name, BotName string

	t       testing.TB
	mu      sync.Mutex
	start   int            // the server's messages before this bot are not its
	cursors map[string]int // per stream ("" chat, "pm:<user>"): messages before it were looked at
	parent  *Channel       // the Channel Start returned, for a view made by In
	stopped bool
}

// Start starts a fake CyTube server (unless WithServer is given) and a bot in
// its channel with the given plugins, and returns once the bot is in the
// channel and every plugin answers commands. The bot stops when the test
// ends (or at Stop).
func Start(t testing.TB, opts ...Option) *Channel {
	t.Helper()
	o := &options{sections: map[string]json.RawMessage{}, logLevel: slog.LevelWarn}
	for _, fn := range opts {
		fn(o)
	}
	srv := o.server
	if srv == nil {
		srv = cytubetest.NewServer(cytubetest.Fast())
		t.Cleanup(srv.Close)
	}
	if o.channel != nil {
		srv.AddChannel(DefaultChannel, *o.channel)
	}
	srv.AddAccount(DefaultBot, botPassword, o.rank)
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	cfg := rosey.Config{
		CyTube: cytube.Config{Server: srv.URL, Channel: DefaultChannel, User: DefaultBot, Password: botPassword,
			BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond},
		Plugins:      o.plugins,
		PluginConfig: o.sections,
		Logger:       slog.New(&testHandler{t: t, level: o.logLevel}),
	}
	cfg.Database.Dir = o.dir
	cfg.NATS.Embedded.NoListen = true
	cfg.Router.HintEvery = rosey.Duration(time.Hour)
	for _, name := range o.more {
		cfg.Channels = append(cfg.Channels, cytube.Config{Channel: name,
			BackoffMin: cfg.CyTube.BackoffMin, ConnectInterval: cfg.CyTube.ConnectInterval})
	}
	for _, e := range o.edit {
		e(&cfg)
	}
	c := &Channel{Server: srv, Name: DefaultChannel, BotName: DefaultBot, t: t, start: len(srv.Messages()), cursors: map[string]int{}}
	c.Bot = rosey.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Bot.Start(ctx); err != nil {
		t.Fatalf("channeltest: start the bot: %v", err)
	}
	t.Cleanup(c.Stop)
	for _, name := range append([]string{DefaultChannel}, o.more...) {
		if err := srv.WaitUser(ctx, name, DefaultBot); err != nil {
			t.Fatalf("channeltest: the bot never joined %s: %v", name, err)
		}
	}
	for _, p := range o.plugins {
		name := p.Info().Name
		for {
			if _, ok := c.Bot.Plugins().Directory().Get(name); ok {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("channeltest: plugin %s never registered", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return c
}

// In returns a view of another channel the bot is in (see WithChannels):
// its Say, Expect and the rest work there; Stop stops the whole bot.
func (c *Channel) In(name string) *Channel {
	return &Channel{Server: c.Server, Bot: c.Bot, Name: name, BotName: c.BotName, t: c.t, start: c.start,
		cursors: map[string]int{}, parent: c}
}

// Stop stops the bot (the fake server stays up for another bot).
func (c *Channel) Stop() {
	if c.parent != nil {
		c.parent.Stop()
		return
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Bot.Stop(ctx); err != nil {
		c.t.Errorf("channeltest: stop the bot: %v", err)
	}
}

// Join makes user (a virtual user of the fake server) enter the channel
// with rank.
func (c *Channel) Join(user string, rank float64) { c.Server.Join(c.Name, user, rank) }

// Say makes user say line in the channel (joining it with rank 0 first
// when absent).
func (c *Channel) Say(user, line string) { c.Server.Say(c.Name, user, line) }

// PM sends the bot a private message from user.
func (c *Channel) PM(user, line string) {
	c.t.Helper()
	if err := c.Server.PM(c.Name, user, c.BotName, line); err != nil {
		c.t.Fatalf("channeltest: %v", err)
	}
}

// Expect waits for the bot to say, in the channel's chat, a line that
// contains want, looking at what it said in chat since the last line an
// Expect matched, and returns the line as plain text. Lines in between
// are passed over.
func (c *Channel) Expect(want string) string {
	c.t.Helper()
	return c.expect("", func(m cytubetest.Message) bool { return m.To == "" }, "say", want)
}

// ExpectPM waits for the bot to send to a PM containing want, looking at
// its PMs to since the last one ExpectPM matched, as Expect does in chat.
func (c *Channel) ExpectPM(to, want string) string {
	c.t.Helper()
	return c.expect("pm:"+strings.ToLower(to), func(m cytubetest.Message) bool { return strings.EqualFold(m.To, to) }, "PM "+to, want)
}

func (c *Channel) expect(stream string, where func(cytubetest.Message) bool, verb, want string) string {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		msgs := c.Server.Messages()
		c.mu.Lock()
		for i := max(c.cursors[stream], c.start); i < len(msgs); i++ {
			m := msgs[i]
			if m.Channel == c.Name && m.From == c.BotName && where(m) {
				if text := cytube.PlainText(m.HTML); strings.Contains(text, want) {
					c.cursors[stream] = i + 1
					c.mu.Unlock()
					return text
				}
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			c.t.Fatalf("channeltest: the bot did not %s %q; it said:\n%s", verb, want, strings.Join(c.Said(), "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Said lists everything the bot said in the channel so far, in order, PMs
// as "PM to alice: …".
func (c *Channel) Said() []string {
	var out []string
	for _, m := range c.Server.Messages() {
		if m.Channel != c.Name || m.From != c.BotName {
			continue
		}
		text := cytube.PlainText(m.HTML)
		if m.To != "" {
			text = "PM to " + m.To + ": " + text
		}
		out = append(out, text)
	}
	return out
}

// Count counts the lines the bot said so far (in chat and by PM) that
// contain s.
func (c *Channel) Count(s string) int {
	n := 0
	for _, l := range c.Said() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// Context returns a context that ends after Timeout, cancelled when the
// test ends.
func (c *Channel) Context() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	c.t.Cleanup(cancel)
	return ctx
}

// Eventually waits until cond holds, failing the test after Timeout with
// what.
func (c *Channel) Eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("channeltest: never %s; the bot said:\n%s", what, strings.Join(c.Said(), "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
