package admin

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "admin"

// DefaultMaxChat is the longest answer said in the channel; a longer one
// goes to the caller by PM. CyTube cuts chat lines at 320 characters.
const DefaultMaxChat = 320

// Config configures the plugin.
type Config struct {
	// MinRank is the rank !admin needs; zero means protocol.RankAdmin (3).
	// The router also raises its configured admins to rank 3.
	MinRank float64
	// MaxChat is the longest answer said in the channel; default DefaultMaxChat.
	MaxChat int
	// Now returns the current time; nil is time.Now.
	Now func() time.Time
}

// Plugin is the admin plugin.
type Plugin struct {
	cfg Config
}

// New returns an admin plugin.
func New(cfg Config) *Plugin {
	if cfg.MinRank == 0 {
		cfg.MinRank = protocol.RankAdmin
	}
	if cfg.MaxChat <= 0 {
		cfg.MaxChat = DefaultMaxChat
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Plugin{cfg: cfg}
}

const usage = "plugins | status | reload <plugin> | enable <plugin> | disable <plugin>"

func (p *Plugin) command() plugin.Command {
	return plugin.Command{
		Name:        "admin",
		Usage:       usage,
		Description: "Lists, reloads, enables and disables plugins; shows the bot's status",
		MinRank:     p.cfg.MinRank,
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Bot administration: plugins and status",
		Commands:    []plugin.Command{p.command()},
	}
}

// Start follows the channels' connection changes and registers !admin.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	s := &server{
		cfg:     p.cfg,
		cmd:     p.command(),
		host:    h,
		ctl:     supervisor.NewControl(h.Bus()),
		started: p.cfg.Now(),
		conns:   map[string]connection{},
	}
	// Only connection changes: the messages in and out are the
	// connectors' own counts, asked for when shown (following every line
	// and send here cost a delivery each, in a process of its own a
	// network round each).
	if err := h.Subscribe(protocol.Connection, s.onConnection); err != nil {
		return fmt.Errorf("admin: subscribe: %w", err)
	}
	h.Handle("admin", s.admin)
	return nil
}

// Stop has nothing to release: the Host ends the subscription.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg     Config
	cmd     plugin.Command
	host    *plugin.Host
	ctl     *supervisor.Control
	started time.Time

	mu    sync.Mutex
	conns map[string]connection // by channel, lower-cased
}

// connection is a channel's last connection change and when it came.
type connection struct {
	ev protocol.ConnectionEvent
	at time.Time
}

// maxChannels bounds the channels remembered from connection events.
const maxChannels = 1000

// gone reports whether c is a connector's goodbye.
func (c connection) gone() bool {
	return c.ev.State == protocol.StateDisconnected && c.ev.Reason == protocol.ReasonStopped
}

func (s *server) onConnection(_ context.Context, ev *eventbus.Event) {
	var c protocol.ConnectionEvent
	if err := ev.Decode(&c); err != nil || c.Channel == "" || utf8.RuneCountInString(c.Channel) > 100 {
		s.host.Logger().Warn("malformed connection event", "err", err)
		return
	}
	key := strings.ToLower(c.Channel)
	s.mu.Lock()
	if _, known := s.conns[key]; known || len(s.conns) < maxChannels {
		s.conns[key] = connection{ev: c, at: s.cfg.Now()}
	}
	s.mu.Unlock()
}

func (s *server) admin(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) == 0 {
		return "", plugin.Usage(s.cmd)
	}
	sub := strings.ToLower(req.Args[0])
	switch sub {
	case "plugins", "list":
		if len(req.Args) != 1 {
			break
		}
		return s.plugins(ctx, req)
	case "status":
		if len(req.Args) != 1 {
			break
		}
		return s.status(ctx, req.Channel), nil
	case "reload", "enable", "disable":
		if len(req.Args) != 2 {
			return "", plugin.UserError("❌ Usage: !admin %s <plugin>", sub)
		}
		return s.act(ctx, sub, req.Args[1])
	}
	return "", plugin.Usage(s.cmd)
}

func (s *server) plugins(ctx context.Context, req *plugin.Request) (string, error) {
	list, err := s.ctl.List(ctx)
	if err != nil {
		return "", fmt.Errorf("admin: list plugins: %w", err)
	}
	parts := make([]string, 0, len(list))
	for _, st := range list {
		where := "in-process"
		switch {
		case st.External && st.Managed:
			where = fmt.Sprintf("process ×%d", st.Instances)
			if st.Installed != "" {
				where = fmt.Sprintf("installed ×%d", st.Instances)
			}
		case st.External:
			where = fmt.Sprintf("external ×%d", st.Instances)
		}
		part := fmt.Sprintf("%s %s %s %s %d req %d err", stateIcon(st.State), st.Info.Name, st.Info.Version, where, st.Requests, st.Errors)
		parts = append(parts, part)
	}
	head := fmt.Sprintf("🔌 %d plugins: ", len(list))
	if line := head + strings.Join(parts, " · "); utf8.RuneCountInString(line) <= s.cfg.MaxChat {
		return line, nil
	}
	// Too long for one line: PM it in lines that each fit.
	var lines []string
	cur := head
	for _, p := range parts {
		sep := " · "
		if cur == head {
			sep = ""
		}
		if utf8.RuneCountInString(cur+sep+p) > s.cfg.MaxChat {
			lines, cur, sep = append(lines, cur), "", ""
		}
		cur += sep + p
	}
	lines = append(lines, cur)
	for _, l := range lines {
		if err := s.host.PM(ctx, req.User, l); err != nil {
			return "", fmt.Errorf("admin: pm %s: %w", req.User, err)
		}
	}
	if req.Source == plugin.SourcePM {
		return "", nil
	}
	return fmt.Sprintf("📬 %s, I sent you the plugin list by PM.", req.User), nil
}

func stateIcon(state string) string {
	switch state {
	case plugin.StateStarted:
		return "🟢"
	case plugin.StateFailed:
		return "🔴"
	case plugin.StateStopped:
		return "⚪"
	}
	return "🟡"
}

// addCapped adds two connectors' counts, stopping at the largest count
// rather than wrapping around to a small one.
func addCapped(a, b uint64) uint64 {
	if b > math.MaxUint64-a {
		return math.MaxUint64
	}
	return a + b
}

func (s *server) status(ctx context.Context, asked string) string {
	now := s.cfg.Now()
	s.mu.Lock()
	conns := maps.Clone(s.conns)
	s.mu.Unlock()
	if asked != "" {
		if _, ok := conns[strings.ToLower(asked)]; !ok {
			conns[strings.ToLower(asked)] = connection{ev: protocol.ConnectionEvent{Channel: asked}}
		}
	}
	keys := slices.Sorted(maps.Keys(conns))
	// Each channel's connector tells its own figures; one that does not
	// answer in time is shown from its last connection change. One that
	// said it stopped is not asked: nobody would answer, and the status
	// would wait the whole time for it.
	figures := make([]*protocol.ConnectorStats, len(keys))
	askCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	var wg sync.WaitGroup
	for i, k := range keys {
		if conns[k].gone() {
			continue
		}
		wg.Go(func() {
			// An answer about another channel is not this one's: counted
			// here it would count that channel once per channel asked.
			ch := conns[k].ev.Channel
			if st, err := client.New(s.host.Bus(), ch).Connector(askCtx); err == nil && strings.EqualFold(st.Channel, ch) {
				figures[i] = &st
			}
		})
	}
	wg.Wait()
	cancel()
	var states []string
	var in, out uint64
	answered := 0
	for i, k := range keys {
		c, f := conns[k], figures[i]
		state, reason := c.ev.State, c.ev.Reason
		since := c.at
		if f != nil {
			answered++
			in, out = addCapped(in, f.MessagesIn), addCapped(out, f.MessagesOut)
			if f.State != state || since.IsZero() {
				// Newer than the last event heard (or none was).
				state, reason, since = f.State, f.Reason, f.ConnectedSince
			}
		}
		if state == "" {
			continue
		}
		text := state + " to " + c.ev.Channel
		if reason != "" {
			text += " (" + reason + ")"
		}
		if !since.IsZero() {
			text += ", for " + plugin.FormatDuration(now.Sub(since))
		}
		if f == nil {
			text += ", not answering"
		}
		states = append(states, text)
	}
	cs := "unknown (no connector has reported)"
	if len(states) > 0 {
		cs = strings.Join(states, "; ")
	}
	traffic := "messages in and out unknown (no connector answered)"
	if answered > 0 {
		traffic = fmt.Sprintf("messages in %d, out %d", in, out)
	}
	running, total := 0, 0
	var notes []string // why a plugin failed; where a saved choice overrides the config
	plugins := "plugins unknown (the plugin manager did not answer)"
	if list, err := s.ctl.List(ctx); err == nil {
		for _, st := range list {
			total++
			if st.State == plugin.StateStarted {
				running++
			}
			notes = append(notes, pluginNotes(st)...)
		}
		plugins = fmt.Sprintf("plugins running %d/%d", running, total)
	} else {
		s.host.Logger().Warn("admin status: list plugins", "err", err)
	}
	line := fmt.Sprintf("📊 Uptime %s · CyTube: %s · %s · %s",
		plugin.FormatDuration(now.Sub(s.started)), cs, traffic, plugins)
	for _, n := range notes {
		line += " · " + n
	}
	return line
}

// pluginNotes says what an admin should know about one plugin beyond its
// state: why it failed, and a remembered !admin enable or disable that
// overrides the config's disabled_plugins.
func pluginNotes(st supervisor.Status) []string {
	var notes []string
	name := st.Info.Name
	if st.State == plugin.StateFailed && st.LastError != "" {
		why := strings.TrimPrefix(st.LastError, plugin.ErrStartFailed.Error()+": ")
		why = strings.TrimPrefix(why, name+": ")
		why, _, _ = strings.Cut(why, "\n") // a panic's stack is for the log
		notes = append(notes, fmt.Sprintf("🔴 %s failed: %s", name, plugin.Clip(why, 120)))
	}
	if st.Saved != "" && (st.Saved == "disabled") != st.ConfigDisabled {
		config := "on"
		if st.ConfigDisabled {
			config = "off (disabled_plugins)"
		}
		notes = append(notes, fmt.Sprintf("%s %s by !admin, config says %s", name, st.Saved, config))
	}
	return notes
}

func (s *server) act(ctx context.Context, verb, name string) (string, error) {
	list, err := s.ctl.List(ctx)
	if err != nil {
		return "", fmt.Errorf("admin: list plugins: %w", err)
	}
	var st *supervisor.Status
	for i := range list {
		if list[i].Info.Name == name {
			st = &list[i]
			break
		}
	}
	if st == nil {
		for i := range list {
			if strings.EqualFold(list[i].Info.Name, name) {
				st = &list[i]
				break
			}
		}
	}
	if st == nil {
		return "", plugin.UserError("❌ No plugin named %s. See !admin plugins.", plugin.Clip(name, 64))
	}
	name = st.Info.Name
	if name == Name && verb != "enable" {
		// The manager would wait for this very command to finish before
		// stopping us, while we wait for the manager: a deadlock.
		return "", plugin.UserError("❌ I can't %s admin from admin itself (it would cut off !admin); restart the bot instead.", verb)
	}
	if st.External && !st.Managed {
		return "", plugin.UserError("❌ %s runs in another process; %s it there.", name, verb)
	}
	switch verb {
	case "reload":
		err = s.ctl.Reload(ctx, name)
	case "enable":
		if st.State == plugin.StateStarted {
			return fmt.Sprintf("▶️ %s is already running.", name), nil
		}
		err = s.ctl.Enable(ctx, name)
	case "disable":
		err = s.ctl.Disable(ctx, name)
	}
	if err != nil {
		// The detail is for the log and !admin status, not the channel.
		s.host.Logger().Warn("plugin control failed", "verb", verb, "plugin", name, "err", err)
		return "", plugin.UserError("❌ Could not %s %s; !admin status and the log say why.", verb, name)
	}
	s.host.Logger().Info("plugin control", "verb", verb, "plugin", name)
	switch verb {
	case "reload":
		return fmt.Sprintf("🔄 Reloaded %s.", name), nil
	case "enable":
		return fmt.Sprintf("▶️ Enabled %s.", name), nil
	}
	return fmt.Sprintf("⏹️ Disabled %s. It stays off across restarts until !admin enable %s.", name, name), nil
}
