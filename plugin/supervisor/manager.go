package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/service"
	"github.com/roseybot/rosey/plugin"
)

// Sentinel errors.
var (
	ErrDuplicate     = errors.New("supervisor: plugin already registered")
	ErrUnknownPlugin = errors.New("supervisor: unknown plugin")
	// ErrNotManaged means the plugin runs in a process of its own that
	// this manager does not supervise: it cannot reload, enable or disable
	// it. Errors wrapping it also wrap ErrUnknownPlugin (unknown to the
	// manager).
	ErrNotManaged = errors.New("supervisor: plugin runs in a process of its own, not run by this plugin manager")
	ErrManager    = errors.New("supervisor: plugin manager unavailable")
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Bus is required.
	Bus *eventbus.Bus
	// DB is handed to plugins through Host.DB; it may be nil when the bot
	// runs without a database.
	DB *database.Client
	// Configs holds each plugin's config section by plugin name.
	Configs map[string]json.RawMessage
	// ConfigSource, when set, is asked for a plugin's config section on every
	// start, so a reload picks up an edited config file. It overrides Configs.
	ConfigSource func(ctx context.Context, name string) (json.RawMessage, error)
	// Disabled names plugins that are registered but not started.
	Disabled []string
	// StopTimeout bounds each plugin's stop; zero means 10 seconds.
	StopTimeout time.Duration
	// SweepInterval is how often external plugins are looked for; zero
	// means DefaultSweepInterval.
	SweepInterval time.Duration
	// Logger receives the manager's and plugins' logs; nil is silent.
	Logger *slog.Logger
	// Middleware wraps the command handlers of every plugin this manager
	// runs, around each plugin's own (Host.Use); the first is outermost.
	Middleware []plugin.Middleware
	// Clock is the plugins' Host.Clock; nil is WallClock.
	Clock plugin.Clock
}

// Status is one plugin's state as the Manager sees it.
type Status struct {
	Info     plugin.Info `json:"info"`
	State    string      `json:"state"`
	External bool        `json:"external"`
	// Managed is true when this manager can stop, reload and enable the
	// plugin: it runs in-process or as a process the manager supervises.
	Managed bool `json:"managed"`
	// Instances counts running copies (for external plugins, as discovered).
	Instances int    `json:"instances"`
	Requests  int    `json:"requests"`
	Errors    int    `json:"errors"`
	LastError string `json:"last_error,omitempty"`
	// Restarts counts the times a plugin process this manager supervises
	// was started again (after it ended, or a reload); 0 for the others.
	Restarts int `json:"restarts,omitempty"`
	// ConfigDisabled is true when the config's disabled list names the plugin.
	ConfigDisabled bool `json:"config_disabled,omitempty"`
	// Saved is "enabled" or "disabled" when an admin's choice is remembered
	// in the database (SetEnabled); it wins over the config's list.
	Saved string `json:"saved,omitempty"`
	// Installed is where an installed plugin came from, with its version
	// (example.com/dice@v1.1.0, npm:pkg@1.1.0, a folder), for a plugin
	// that says so (Installed); empty otherwise.
	Installed string `json:"installed,omitempty"`
}

// Installed is implemented by plugins installed from a catalogue or a
// source (package marketplace): Installed says where from, with the
// version, and shows in Status.
type Installed interface {
	Installed() string
}

type slot struct {
	p        plugin.Plugin
	info     plugin.Info
	state    string
	disabled bool
	saved    string // "enabled" or "disabled", as remembered in the database
	lastErr  string
	// in is the running plugin; a Supervised one runs headless (its
	// process serves the commands).
	in       *plugin.Instance
	starting bool
}

// Supervised is implemented by plugins whose commands are served elsewhere,
// such as a Process running the plugin as a child process. The Manager
// starts, stops and reloads them but exposes no micro service for them: the
// process they supervise does, and announces itself.
type Supervised interface {
	plugin.Plugin
	Supervised() bool
}

func isSupervised(p plugin.Plugin) bool {
	s, ok := p.(Supervised)
	return ok && s.Supervised()
}

// Manager runs in-process plugins, each as a NATS micro service, and keeps a
// Directory of every plugin on the bus, in-process or external. It also
// answers the plugin-manager control subjects (see ControlList and friends),
// so a plugin such as admin can list, reload, enable and disable plugins
// over NATS.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger
	dir *Directory

	mu      sync.Mutex
	slots   map[string]*slot
	order   []string
	ctl     *service.Service
	started bool
	// epoch and changes make the tag of a plugin list (ListTag): changes
	// counts the edits of slots (made under mu, counted after), epoch
	// tells this manager's counts from another's or an earlier run's.
	epoch   string
	changes atomic.Uint64
}

// NewManager returns a Manager. Register plugins, then Start.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Bus == nil {
		return nil, fmt.Errorf("%w: bus is required", ErrManager)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	dir := NewDirectory(cfg.Bus)
	// The manager's directory speaks for the bot: it reports plugins that
	// vanish (a router of its own may not publish lifecycle events).
	dir.reportFailed = true
	return &Manager{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "plugin-manager"),
		dir:   dir,
		slots: map[string]*slot{},
		epoch: rand.Text()[:8],
	}, nil
}

// listTag names the present plugins, their states and Info as Status
// reports them (not their counts): it changes whenever one of those does.
func (m *Manager) listTag() string {
	return fmt.Sprintf("%s.%d.%d", m.epoch, m.changes.Load(), m.dir.changes.Load())
}

// Directory returns the directory of every plugin on the bus.
func (m *Manager) Directory() *Directory { return m.dir }

// Register adds a plugin in state loaded. Names must be unique.
func (m *Manager) Register(p plugin.Plugin) error {
	info := p.Info()
	if err := info.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.slots[info.Name]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicate, info.Name)
	}
	m.slots[info.Name] = &slot{p: p, info: info, state: plugin.StateLoaded, disabled: slices.Contains(m.cfg.Disabled, info.Name)}
	m.order = append(m.order, info.Name)
	m.changes.Add(1)
	return nil
}

// Start starts the directory, the control service and every registered,
// enabled plugin. A plugin that fails to start is marked failed and logged;
// it does not stop the others or the bot.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.dir.Start(ctx, m.cfg.SweepInterval); err != nil {
		return err
	}
	if err := m.startControl(); err != nil {
		m.dir.Stop()
		return err
	}
	m.mu.Lock()
	m.started = true
	names := slices.Clone(m.order)
	m.mu.Unlock()
	m.loadEnabledState(ctx)
	// Plugins start side by side (their Start often waits on the
	// database), then are recorded in registration order, so which plugin
	// keeps a contested command word does not depend on timing.
	runs := make([]launched, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		m.mu.Lock()
		disabled := m.slots[name].disabled
		m.mu.Unlock()
		if disabled {
			runs[i] = launched{name: name, skip: true}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = m.launch(ctx, name)
		}()
	}
	wg.Wait()
	for _, l := range runs {
		if err := m.record(ctx, l); err != nil {
			m.log.Error("plugin failed to start", "plugin", l.name, "err", err)
		}
	}
	return nil
}

// StartPlugin starts one registered plugin.
func (m *Manager) StartPlugin(ctx context.Context, name string) error {
	return m.record(ctx, m.launch(ctx, name))
}

// launched is a plugin whose Start has run but which is not yet recorded
// as started (nor announced).
type launched struct {
	name string
	s    *slot
	in   *plugin.Instance
	skip bool // already running, or being started
	err  error
	took time.Duration
}

// launch runs a plugin's Start. Several launches may run at once.
func (m *Manager) launch(ctx context.Context, name string) launched {
	m.mu.Lock()
	s, ok := m.slots[name]
	if !ok {
		m.mu.Unlock()
		return launched{name: name, err: fmt.Errorf("%w: %s", ErrUnknownPlugin, name)}
	}
	if s.in != nil || s.starting {
		m.mu.Unlock()
		return launched{name: name, s: s, skip: true}
	}
	s.starting = true
	m.mu.Unlock()
	l := launched{name: name, s: s}
	began := time.Now()

	config := m.cfg.Configs[name]
	if m.cfg.ConfigSource != nil {
		c, err := m.cfg.ConfigSource(ctx, name)
		if err != nil {
			l.err = fmt.Errorf("%w: %s: config: %w", plugin.ErrStartFailed, name, err)
			return l
		}
		config = c
	}
	l.in, l.err = plugin.Run(ctx, s.p, m.cfg.Bus, plugin.RunConfig{
		DB: m.cfg.DB, Config: config, Logger: m.cfg.Logger, Middleware: m.cfg.Middleware, Clock: m.cfg.Clock,
		Headless: isSupervised(s.p),
	})
	l.took = time.Since(began)
	return l
}

// record marks a launched plugin started (or failed), adds it to the
// directory and announces it.
func (m *Manager) record(ctx context.Context, l launched) error {
	if l.s == nil || l.skip {
		return l.err
	}
	s := l.s
	m.mu.Lock()
	s.starting = false
	m.mu.Unlock()
	if l.err != nil {
		m.setFailed(ctx, s, l.err)
		return l.err
	}
	in := l.in
	if isSupervised(s.p) {
		m.mu.Lock()
		s.in, s.state, s.lastErr = in, plugin.StateStarted, ""
		m.changes.Add(1)
		m.mu.Unlock()
		m.log.Info("supervised plugin started", "plugin", l.name)
		return nil
	}
	m.mu.Lock()
	s.in, s.state, s.lastErr, s.info = in, plugin.StateStarted, "", in.Info()
	m.changes.Add(1)
	m.mu.Unlock()
	m.dir.Add(in.Info(), in.ID(), true)
	in.Announce(ctx, plugin.StateStarted, "")
	m.log.Info("plugin started", "plugin", l.name, "version", in.Info().Version, "took", l.took)
	return nil
}

func (m *Manager) setFailed(ctx context.Context, s *slot, err error) {
	m.mu.Lock()
	s.state, s.lastErr = plugin.StateFailed, err.Error()
	info := s.info
	m.changes.Add(1)
	m.mu.Unlock()
	if !isSupervised(s.p) {
		// Its commands stay known, with no instance to answer them: users
		// hear the plugin is not running, not that the command is unknown.
		m.dir.Add(info, "", true)
	}
	a := plugin.Announcement{Info: info, State: plugin.StateFailed, Error: err.Error()}
	if perr := m.cfg.Bus.Publish(ctx, "platform.plugin."+info.Name+"."+plugin.StateFailed, a); perr != nil {
		m.log.Warn("announce failed", "err", perr)
	}
}

// StopPlugin stops one running plugin. Stopping a plugin that is not
// running does nothing.
func (m *Manager) StopPlugin(ctx context.Context, name string) error {
	m.mu.Lock()
	s, ok := m.slots[name]
	if !ok {
		m.mu.Unlock()
		return m.notMine(name)
	}
	in := s.in
	s.in = nil
	m.changes.Add(1)
	m.mu.Unlock()
	if in != nil && isSupervised(s.p) {
		ctx, cancel := context.WithTimeout(ctx, m.cfg.StopTimeout)
		defer cancel()
		err := in.Stop(ctx)
		m.mu.Lock()
		s.state = plugin.StateStopped
		m.changes.Add(1)
		m.mu.Unlock()
		return err
	}
	if in == nil {
		if !isSupervised(s.p) {
			m.dir.Remove(name, "") // a failed plugin's commands, kept known until now
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.StopTimeout)
	defer cancel()
	id := in.ID()
	err := in.Stop(ctx)
	m.dir.Remove(name, id)
	m.mu.Lock()
	s.state = plugin.StateStopped
	if err != nil {
		s.lastErr = err.Error()
	}
	m.changes.Add(1)
	m.mu.Unlock()
	a := plugin.Announcement{Info: in.Info(), Instance: id, State: plugin.StateStopped}
	if perr := m.cfg.Bus.Publish(ctx, "platform.plugin."+name+"."+plugin.StateStopped, a); perr != nil {
		m.log.Warn("announce failed", "err", perr)
	}
	if err != nil {
		m.log.Warn("plugin stopped with errors", "plugin", name, "err", err)
	}
	return err
}

// Reload stops a plugin, re-reads its config and starts it fresh.
func (m *Manager) Reload(ctx context.Context, name string) error {
	if err := m.StopPlugin(ctx, name); err != nil && errors.Is(err, ErrUnknownPlugin) {
		return err
	}
	if err := m.StartPlugin(ctx, name); err != nil {
		return err
	}
	m.mu.Lock()
	s := m.slots[name]
	in := s.in
	m.mu.Unlock()
	if in != nil && !isSupervised(s.p) {
		in.Announce(ctx, plugin.StateReloaded, "")
	}
	return nil
}

// notMine is the error for a plugin this manager has no slot for: one in
// a process of its own that the directory knows (ErrNotManaged), or none.
func (m *Manager) notMine(name string) error {
	if e, ok := m.dir.Get(name); ok && !e.Local {
		return fmt.Errorf("%w: %w: %s runs in a process of its own; restart it there", ErrNotManaged, ErrUnknownPlugin, name)
	}
	return fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
}

// Supervising reports whether name is a Supervised plugin this manager
// runs (for example a plugin process in distributed mode).
func (m *Manager) Supervising(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.slots[name]
	return ok && isSupervised(s.p)
}

// SetEnabled enables (and starts) or disables (and stops) a plugin. With a
// database the choice is remembered across restarts.
func (m *Manager) SetEnabled(ctx context.Context, name string, enabled bool) error {
	m.mu.Lock()
	s, ok := m.slots[name]
	if ok {
		s.disabled = !enabled
		m.changes.Add(1)
	}
	m.mu.Unlock()
	if !ok {
		return m.notMine(name)
	}
	m.saveEnabledState(ctx, name, enabled)
	if enabled {
		return m.StartPlugin(ctx, name)
	}
	return m.StopPlugin(ctx, name)
}

// Status lists every plugin this manager runs and every external plugin in
// its directory, by name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	out := make([]Status, 0, len(m.slots))
	starts := map[int]interface{ Starts() int }{} // by index in out: asked once m.mu is released
	for _, name := range m.order {
		s := m.slots[name]
		st := Status{Info: s.info, State: s.state, LastError: s.lastErr, Managed: true,
			ConfigDisabled: slices.Contains(m.cfg.Disabled, name), Saved: s.saved}
		if in, ok := s.p.(Installed); ok {
			st.Installed = in.Installed()
		}
		if s.disabled && s.in == nil {
			st.State = plugin.StateStopped
		}
		supervised := isSupervised(s.p)
		if s.in != nil && !supervised {
			st.Instances = 1
			st.Requests, st.Errors, _ = s.in.Stats()
		}
		if s.in != nil && supervised {
			st.External = true
			if e, ok := m.dir.Get(name); ok {
				st.Instances, st.Requests, st.Errors = len(e.Instances), e.Requests, e.Errors
			}
		}
		if p, ok := s.p.(interface{ Starts() int }); ok {
			starts[len(out)] = p
		}
		out = append(out, st)
	}
	m.mu.Unlock()
	for i, p := range starts {
		out[i].Restarts = max(p.Starts()-1, 0)
	}
	for _, e := range m.dir.Plugins() {
		if e.Local {
			continue
		}
		m.mu.Lock()
		_, mine := m.slots[e.Info.Name]
		m.mu.Unlock()
		if mine {
			continue
		}
		out = append(out, Status{Info: e.Info, State: plugin.StateStarted, External: true, Instances: len(e.Instances), Requests: e.Requests, Errors: e.Errors})
	}
	slices.SortFunc(out, func(a, b Status) int { return compareStrings(a.Info.Name, b.Info.Name) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Stop stops every plugin in reverse order of registration, then the
// control service and the directory.
func (m *Manager) Stop(ctx context.Context) error {
	m.mu.Lock()
	names := slices.Clone(m.order)
	ctl := m.ctl
	m.ctl = nil
	m.started = false
	m.mu.Unlock()
	var errs []error
	if ctl != nil {
		if err := ctl.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	// Plugins stop side by side: each may wait for its commands in flight.
	stopErrs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[i] = m.StopPlugin(ctx, name)
		}()
	}
	wg.Wait()
	errs = append(errs, stopErrs...)
	m.dir.Stop()
	return errors.Join(errs...)
}

// Remove stops a plugin and forgets it, so another plugin of that name
// may be registered (an installed plugin removed or upgraded while the bot
// runs). Removing a plugin the manager does not run returns
// ErrUnknownPlugin.
func (m *Manager) Remove(ctx context.Context, name string) error {
	m.mu.Lock()
	_, ok := m.slots[name]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	}
	err := m.StopPlugin(ctx, name)
	m.mu.Lock()
	delete(m.slots, name)
	m.order = slices.DeleteFunc(m.order, func(n string) bool { return n == name })
	m.changes.Add(1)
	m.mu.Unlock()
	return err
}
