package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/internal/service"
)

// Control subjects answered by a Manager (request/reply, before any prefix).
const (
	// ControlList answers {"plugins": [Status…], "tag"}. Asked with
	// {"since": tag} of an earlier answer while the plugins, their states
	// and Info are unchanged, it answers {"ok", "tag", "unchanged": true}
	// without the list.
	ControlList = "platform.plugins.list"
	// ControlReload takes {"name"} and answers {"ok"} or {"error"}.
	ControlReload = "platform.plugins.reload"
	// ControlEnable takes {"name"} and answers {"ok"} or {"error"}.
	ControlEnable = "platform.plugins.enable"
	// ControlDisable takes {"name"} and answers {"ok"} or {"error"}.
	ControlDisable = "platform.plugins.disable"
)

// Error codes of control replies.
const (
	codeUnknownPlugin = "unknown_plugin"
	// codeNotManaged: the plugin runs in a process of its own that this
	// manager does not supervise (reload, enable, disable).
	codeNotManaged = "not_managed"
)

// stateCollection keeps which plugins an admin disabled.
const stateCollection = "rosey_plugin_state"

type controlRequest struct {
	Name  string `json:"name"`
	Since string `json:"since,omitempty"`
}

type controlReply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// Code is "unknown_plugin" when the name matches no plugin, and
	// "not_managed" for a plugin in a process of its own.
	Code    string   `json:"code,omitempty"`
	Plugins []Status `json:"plugins,omitempty"`
	// Tag names the list's plugins, states and Info (not their counts);
	// Unchanged answers a request whose Since is the current tag.
	Tag       string `json:"tag,omitempty"`
	Unchanged bool   `json:"unchanged,omitempty"`
}

func (m *Manager) startControl() error {
	bus := m.cfg.Bus
	svc, err := service.New(bus.Conn(), service.Config{
		Name:        "plugin-manager",
		Version:     "1.0.0",
		Description: "Lists, reloads, enables and disables Rosey plugins",
		QueueGroup:  "rosey.plugin-manager",
	})
	if err != nil {
		return fmt.Errorf("%w: control service: %w", ErrManager, err)
	}
	add := func(name, subject string, fn func(ctx context.Context, req controlRequest) controlReply) error {
		return svc.AddEndpoint(name, bus.Subject(subject), func(r *service.Request) {
			ev := busevent.FromMsg(&nats.Msg{Subject: r.Subject(), Data: r.Data(), Header: r.Header()}, bus.Prefix())
			// Reloads wait on plugins; never block the subscription.
			go func() {
				ctx := eventbus.WithCorrelationID(context.Background(), ev.CorrelationID)
				defer func() {
					if p := recover(); p != nil {
						m.log.Error("control request panic recovered", "subject", ev.Subject, "panic", p, "stack", string(debug.Stack()))
					}
				}()
				var req controlRequest
				var rep controlReply
				if len(ev.Data) > 0 && ev.Decode(&req) != nil {
					rep.Error = "malformed request"
				} else {
					rep = fn(ctx, req)
				}
				body, _ := json.Marshal(rep)
				_ = r.Respond(body, bus.Header(ctx))
			}()
		})
	}
	act := func(do func(ctx context.Context, name string) error) func(context.Context, controlRequest) controlReply {
		return func(ctx context.Context, req controlRequest) controlReply {
			if req.Name == "" {
				return controlReply{Error: "name is required"}
			}
			if err := do(ctx, req.Name); err != nil {
				rep := controlReply{Error: err.Error()}
				switch {
				case errors.Is(err, ErrNotManaged):
					rep.Code = codeNotManaged
				case errors.Is(err, ErrUnknownPlugin):
					rep.Code = codeUnknownPlugin
				}
				return rep
			}
			return controlReply{OK: true}
		}
	}
	errs := errors.Join(
		add("list", ControlList, func(ctx context.Context, req controlRequest) controlReply {
			// The tag is read before the list: an edit made while the list
			// is built changes the next tag, so no stale list keeps one.
			tag := m.listTag()
			if req.Since != "" && req.Since == tag {
				return controlReply{OK: true, Tag: tag, Unchanged: true}
			}
			// Served from what the directory knows, never waiting on other
			// processes; asking keeps their statistics fresh (background).
			m.dir.refreshStatsSoon(statsMaxAge)
			return controlReply{OK: true, Plugins: m.Status(), Tag: tag}
		}),
		add("reload", ControlReload, act(m.Reload)),
		add("enable", ControlEnable, act(func(ctx context.Context, n string) error { return m.SetEnabled(ctx, n, true) })),
		add("disable", ControlDisable, act(func(ctx context.Context, n string) error { return m.SetEnabled(ctx, n, false) })),
	)
	if errs != nil {
		_ = svc.Stop()
		return fmt.Errorf("%w: control service: %w", ErrManager, errs)
	}
	m.mu.Lock()
	m.ctl = svc
	m.mu.Unlock()
	return nil
}

type enabledDoc struct {
	Enabled bool `json:"enabled"`
}

// loadEnabledState applies enable/disable choices saved by an admin; they
// win over the config's Disabled list, and the log says where they differ.
// It is best effort: without a database the config's Disabled list rules.
func (m *Manager) loadEnabledState(ctx context.Context) {
	if m.cfg.DB == nil {
		return
	}
	res, err := m.cfg.DB.Query(ctx, database.QueryRequest{Collection: stateCollection, Limit: 1000, NoTotal: true})
	if err != nil {
		m.log.Debug("no saved plugin state", "err", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range res.Items {
		var d enabledDoc
		if it.Decode(&d) != nil {
			continue
		}
		name := it.ID.String()
		s, ok := m.slots[name]
		if !ok {
			continue
		}
		s.disabled, s.saved = !d.Enabled, savedState(d.Enabled)
		m.changes.Add(1)
		if inConfig := slices.Contains(m.cfg.Disabled, name); inConfig == d.Enabled {
			m.log.Warn("an admin's saved choice overrides the config's disabled list", "plugin", name,
				"saved", s.saved, "disabled_in_config", inConfig)
		}
	}
}

func savedState(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

func (m *Manager) saveEnabledState(ctx context.Context, name string, enabled bool) {
	if m.cfg.DB == nil {
		return
	}
	if _, err := m.cfg.DB.Set(ctx, stateCollection, database.StringID(name), enabledDoc{Enabled: enabled}); err != nil {
		m.log.Warn("could not save plugin state", "plugin", name, "err", err)
		return
	}
	m.mu.Lock()
	if s, ok := m.slots[name]; ok {
		s.saved = savedState(enabled)
		m.changes.Add(1)
	}
	m.mu.Unlock()
}

// Control is a client for a Manager's control subjects, usable from any
// process on the bus (the admin and help plugins use it).
type Control struct {
	bus *eventbus.Bus
}

// NewControl returns a Control on bus.
func NewControl(bus *eventbus.Bus) *Control { return &Control{bus: bus} }

// List returns the status of every plugin.
func (c *Control) List(ctx context.Context) ([]Status, error) {
	rep, err := c.call(ctx, ControlList, "")
	if err != nil {
		return nil, err
	}
	return rep.Plugins, nil
}

// ListSince is List for a caller that keeps the last list it got (the
// help plugin asks on every !help): since is the tag of that answer, ""
// at first. While the plugins, their states and Info are what they were
// at since, it returns no list and tag == since, which costs the manager
// and the caller next to nothing; else the whole list and its new tag.
// The statistics in a kept list (Requests, Errors, Restarts) age: ask
// List for fresh ones.
func (c *Control) ListSince(ctx context.Context, since string) (list []Status, tag string, err error) {
	ev, err := c.bus.Request(ctx, ControlList, controlRequest{Since: since})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrManager, err)
	}
	var rep controlReply
	if err := ev.Decode(&rep); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrManager, err)
	}
	if rep.Error != "" {
		return nil, "", fmt.Errorf("%w: list: %s", ErrManager, rep.Error)
	}
	if rep.Unchanged && since != "" && rep.Tag == since {
		return nil, since, nil
	}
	if rep.Unchanged {
		// Unchanged since a tag that is not ours: no list to keep.
		return nil, "", fmt.Errorf("%w: list: unchanged since a tag not asked about", ErrManager)
	}
	return rep.Plugins, rep.Tag, nil
}

// Reload stops, reconfigures and restarts a plugin.
func (c *Control) Reload(ctx context.Context, name string) error {
	_, err := c.call(ctx, ControlReload, name)
	return err
}

// Enable starts a plugin and remembers it as enabled.
func (c *Control) Enable(ctx context.Context, name string) error {
	_, err := c.call(ctx, ControlEnable, name)
	return err
}

// Disable stops a plugin and remembers it as disabled.
func (c *Control) Disable(ctx context.Context, name string) error {
	_, err := c.call(ctx, ControlDisable, name)
	return err
}

func (c *Control) call(ctx context.Context, subject, name string) (*controlReply, error) {
	ev, err := c.bus.Request(ctx, subject, controlRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManager, err)
	}
	var rep controlReply
	if err := ev.Decode(&rep); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManager, err)
	}
	switch rep.Code {
	case codeUnknownPlugin:
		return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, name)
	case codeNotManaged:
		return nil, fmt.Errorf("%w: %w: %s", ErrNotManaged, ErrUnknownPlugin, rep.Error)
	}
	if rep.Error != "" {
		verb := subject[strings.LastIndexByte(subject, '.')+1:] // "reload"
		return nil, fmt.Errorf("supervisor: %s %s: %s", verb, name, strings.TrimPrefix(rep.Error, "plugin: "))
	}
	return &rep, nil
}
