package help

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "help"

// Defaults for Config.
const (
	DefaultPrefix = "!"
	// DefaultMaxChat is the longest list said in the channel; CyTube cuts
	// chat lines at 320 characters.
	DefaultMaxChat = 320
)

// Config configures the plugin. The JSON fields may also come from the
// plugin's section of the bot config; they override the constructor's.
type Config struct {
	// Prefix is shown before command words; default "!". Set it to the
	// router's prefix when that is not "!".
	Prefix string `json:"prefix,omitempty"`
	// MaxChat is the longest command list (in characters) answered in the
	// channel; a longer one goes to the caller by PM. Default DefaultMaxChat.
	MaxChat int `json:"max_chat,omitempty"`
}

// Plugin is the help plugin.
type Plugin struct {
	cfg Config
}

// New returns a help plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func command() plugin.Command {
	return plugin.Command{
		Name:        "help",
		Usage:       "[command]",
		Description: "Lists the commands you can use, or explains one",
		Aliases:     []string{"commands"},
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Lists commands and explains them",
		Commands:    []plugin.Command{command()},
	}
}

// Start reads the config section and registers !help.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.HasPrefix(cfg.Prefix, "/") {
		// A reply starting with "/" would be run by CyTube as a command.
		return fmt.Errorf("help: prefix %q: must not start with /", cfg.Prefix)
	}
	if cfg.MaxChat <= 0 {
		cfg.MaxChat = DefaultMaxChat
	}
	s := &server{cfg: cfg, host: h, ctl: supervisor.NewControl(h.Bus())}
	h.Handle("help", s.help)
	return nil
}

// Stop has nothing to release.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg  Config
	host *plugin.Host
	ctl  *supervisor.Control

	// The last list of running plugins and its tag: the manager is asked
	// on every !help (a plugin disabled a moment ago must not be listed),
	// but sends the list again only when it changed. mu is held while
	// asking, so the kept list and its tag always go together.
	mu      sync.Mutex
	tag     string
	plugins []supervisor.Status
}

// running returns the plugins that can answer commands now, by name. The
// slice is shared: callers only read it.
func (s *server) running(ctx context.Context) ([]supervisor.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, tag, err := s.ctl.ListSince(ctx, s.tag)
	if err != nil {
		return nil, fmt.Errorf("help: list plugins: %w", err)
	}
	if s.tag != "" && tag == s.tag {
		return s.plugins, nil
	}
	all = slices.DeleteFunc(all, func(st supervisor.Status) bool { return st.State != plugin.StateStarted })
	slices.SortFunc(all, func(a, b supervisor.Status) int { return strings.Compare(a.Info.Name, b.Info.Name) })
	s.tag, s.plugins = tag, all
	return all, nil
}

func (s *server) help(ctx context.Context, req *plugin.Request) (string, error) {
	plugins, err := s.running(ctx)
	if err != nil {
		return "", err
	}
	if len(req.Args) > 1 {
		return "", plugin.Usage(command())
	}
	if len(req.Args) == 1 {
		return s.explain(plugins, req.Args[0])
	}
	return s.list(ctx, plugins, req)
}

// explain answers !help <word>: a command (or alias), else a plugin.
func (s *server) explain(plugins []supervisor.Status, word string) (string, error) {
	word = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(word, s.cfg.Prefix), "!"))
	for _, st := range plugins {
		if c, ok := st.Info.Find(word); ok {
			return s.describe(st.Info.Name, c), nil
		}
	}
	for _, st := range plugins {
		if strings.EqualFold(st.Info.Name, word) {
			words := make([]string, 0, len(st.Info.Commands))
			for _, c := range st.Info.Commands {
				words = append(words, s.cfg.Prefix+c.Name)
			}
			desc := st.Info.Description
			if desc != "" {
				desc = ": " + desc
			}
			return fmt.Sprintf("📖 %s %s%s. Commands: %s", st.Info.Name, st.Info.Version, desc, orNone(strings.Join(words, ", "))), nil
		}
	}
	return "", plugin.UserError("❌ No command %s%s. Try %shelp for the list.", s.cfg.Prefix, plugin.Clip(word, 32), s.cfg.Prefix)
}

func (s *server) describe(pluginName string, c plugin.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "📖 %s%s", s.cfg.Prefix, c.Name)
	if c.Usage != "" {
		b.WriteString(" " + c.Usage)
	}
	if c.Description != "" {
		b.WriteString(" — " + c.Description)
	}
	if len(c.Aliases) > 0 {
		as := make([]string, len(c.Aliases))
		for i, a := range c.Aliases {
			as[i] = s.cfg.Prefix + a
		}
		b.WriteString(" · aliases: " + strings.Join(as, ", "))
	}
	if c.MinRank > 0 {
		b.WriteString(" · rank: " + protocol.RankName(c.MinRank) + " or higher")
	} else {
		b.WriteString(" · rank: anyone")
	}
	if c.Cooldown > 0 {
		b.WriteString(" · cooldown: " + c.Cooldown.Round(time.Second).String())
	}
	b.WriteString(" · plugin: " + pluginName)
	return b.String()
}

// list answers a bare !help: the commands the caller's rank allows,
// grouped by plugin, in the channel when short, else by PM.
func (s *server) list(ctx context.Context, plugins []supervisor.Status, req *plugin.Request) (string, error) {
	type group struct {
		name  string
		words []string
	}
	var groups []group
	for _, st := range plugins {
		g := group{name: st.Info.Name}
		for _, c := range st.Info.Commands {
			if req.Rank >= c.MinRank {
				g.words = append(g.words, s.cfg.Prefix+c.Name)
			}
		}
		if len(g.words) > 0 {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return "📖 There are no commands you can use right now.", nil
	}
	head := fmt.Sprintf("📖 Commands (%shelp <command> for more): ", s.cfg.Prefix)
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = g.name + ": " + strings.Join(g.words, " ")
	}
	if line := head + strings.Join(parts, " · "); utf8.RuneCountInString(line) <= s.cfg.MaxChat {
		return line, nil
	}
	// Too long for one line: PM it in lines that each fit. A group that
	// does not fit a line goes on over the next, named again.
	var lines []string
	cur := head
	fits := func(sep, text string) bool { return utf8.RuneCountInString(cur+sep+text) <= s.cfg.MaxChat }
	flush := func() { lines, cur = append(lines, plugin.Clip(cur, s.cfg.MaxChat-1)), "" }
	for _, g := range groups {
		sep, first := " · ", g.name+": "+g.words[0]
		if cur == head {
			sep = ""
		}
		if !fits(sep, first) {
			flush()
			sep = ""
		}
		cur += sep + first
		for _, w := range g.words[1:] {
			if !fits(" ", w) {
				flush()
				cur = g.name + ": " + w
				continue
			}
			cur += " " + w
		}
	}
	lines = append(lines, plugin.Clip(cur, s.cfg.MaxChat-1))
	for _, l := range lines {
		if err := s.host.PM(ctx, req.User, l); err != nil {
			return "", fmt.Errorf("help: pm %s: %w", req.User, err)
		}
	}
	if req.Source == plugin.SourcePM {
		return "", nil
	}
	return fmt.Sprintf("📬 %s, I sent you the command list by PM.", req.User), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
