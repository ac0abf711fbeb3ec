package rosey

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// parts are the running components; each start function fills its own.
type parts struct {
	server  *embedded.Server
	bus     *eventbus.Bus
	db      *database.Client
	manager *supervisor.Manager
	router  *router.Router
	// connectors are the CyTube connectors, one per channel, or the
	// console connector.
	connectors []connector
	metrics    *monitor.Metrics // nil unless Config.HTTP.Listen is set
	monitor    *monitor.Server
}

// connector is what the CyTube and console connectors have in common.
type connector interface {
	Start(context.Context) error
	Stop(context.Context) error
	Done() <-chan struct{}
}

// connectorDone is closed once every connector has ended (a fatal error:
// bad password, banned, or end of console input). One channel's ban does
// not end the others.
func (p *parts) connectorDone() <-chan struct{} {
	if len(p.connectors) == 0 {
		return nil // blocks forever in a select: nothing to wait for
	}
	if len(p.connectors) == 1 {
		return p.connectors[0].Done()
	}
	done := make(chan struct{})
	cs := p.connectors
	go func() {
		for _, c := range cs {
			<-c.Done()
		}
		close(done)
	}()
	return done
}

func (p *parts) connectorErr() error {
	var errs []error
	for _, c := range p.connectors {
		if c, ok := c.(interface{ Err() error }); ok {
			errs = append(errs, c.Err())
		}
	}
	return errors.Join(errs...)
}

// cytubeConnectors returns the CyTube connectors with their channels.
func (p *parts) cytubeConnectors() []*cytube.Connector {
	var out []*cytube.Connector
	for _, c := range p.connectors {
		if cc, ok := c.(*cytube.Connector); ok {
			out = append(out, cc)
		}
	}
	return out
}

func (p *parts) natsURL() string {
	if p.server == nil {
		return ""
	}
	return p.server.ClientURL()
}

func (b *Bot) startBus(ctx context.Context) (func(context.Context) error, error) {
	bc := b.cfg.busConfig()
	if len(bc.URLs) == 0 {
		ec := b.cfg.NATS.Embedded.Config
		if d := b.cfg.NATS.Embedded.ReadyTimeout; d != 0 {
			ec.ReadyTimeout = time.Duration(d)
		}
		ec.Logger = b.cfg.Logger
		if ec.SeedFile == "" {
			// Absolute, so the path told to external plugins works from
			// any directory.
			dir, err := filepath.Abs(b.cfg.dataDir())
			if err != nil {
				return nil, err
			}
			ec.SeedFile = filepath.Join(dir, NATSSeedFile)
		}
		srv, err := embedded.Start(ctx, ec)
		if err != nil {
			return nil, err
		}
		b.parts.server = srv
		in := srv.BusConfig(bc.Name)
		bc.InProcess = in.InProcess
		if !hasCredentials(bc) {
			bc.NKeySeed = in.NKeySeed // the credentials the server made
		}
	}
	bus, err := eventbus.Connect(ctx, bc)
	if err != nil {
		if b.parts.server != nil {
			_ = b.parts.server.Shutdown(ctx)
		}
		return nil, err
	}
	b.parts.bus = bus
	b.parts.db = database.NewClient(bus)
	if b.cfg.monitors() {
		b.parts.metrics = monitor.NewMetrics()
	}
	stop := func(ctx context.Context) error {
		err := bus.Close(ctx)
		if b.parts.server != nil {
			err = errors.Join(err, b.parts.server.Shutdown(ctx))
		}
		b.parts.bus, b.parts.server = nil, nil
		return err
	}
	if b.cfg.OnBus != nil {
		if err := b.cfg.OnBus(ctx, bus); err != nil {
			_ = stop(ctx)
			return nil, fmt.Errorf("OnBus: %w", err)
		}
	}
	return stop, nil
}

func (b *Bot) startDatabase(ctx context.Context) (func(context.Context) error, error) {
	if b.cfg.Database.Disabled {
		return nil, nil
	}
	svc, err := dbservice.Start(ctx, b.parts.bus, b.cfg.databaseConfig())
	if err != nil {
		return nil, err
	}
	return svc.Stop, nil
}

func (b *Bot) startPlugins(ctx context.Context) (func(context.Context) error, error) {
	for _, name := range b.cfg.DisabledPlugins {
		if slices.Contains(b.cfg.ExternalPlugins, name) {
			b.log.Warn("disabled_plugins names a plugin that runs in a process of its own; this bot cannot stop it: stop it where it runs", "plugin", name)
		}
	}
	m, err := supervisor.NewManager(supervisor.ManagerConfig{
		Bus:      b.parts.bus,
		DB:       b.parts.db,
		Disabled: b.cfg.DisabledPlugins,
		ConfigSource: func(_ context.Context, name string) (json.RawMessage, error) {
			return b.cfg.pluginSection(name)
		},
		Logger:     b.cfg.Logger,
		Middleware: b.cfg.Middleware,
		Clock:      b.cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	for _, p := range b.cfg.Plugins {
		if err := m.Register(p); err != nil {
			return nil, err
		}
	}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	inst, err := b.startInstalled(ctx, m)
	if err != nil {
		_ = m.Stop(ctx)
		return nil, err
	}
	b.parts.manager = m
	return func(ctx context.Context) error {
		inst.stop()
		b.parts.manager = nil
		return m.Stop(ctx)
	}, nil
}

func (b *Bot) startRouter(ctx context.Context) (func(context.Context) error, error) {
	var dir *supervisor.Directory
	if b.parts.manager != nil {
		dir = b.parts.manager.Directory()
	}
	rc := b.cfg.routerConfig()
	if b.parts.metrics != nil {
		rc.Observer = b.parts.metrics
	}
	r, err := router.New(b.parts.bus, dir, rc)
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	b.parts.router = r
	return r.Stop, nil
}

func (b *Bot) startConnector(ctx context.Context) (func(context.Context) error, error) {
	var cs []connector
	switch {
	case b.cfg.CyTube.Channel != "":
		for _, cc := range b.cfg.cytubeConfigs() {
			cc.Logger = b.cfg.Logger
			if cc.CommandPrefix == "" {
				// A reply's later parts never start a command.
				cc.CommandPrefix = cmp.Or(b.cfg.Router.Channels[cc.Channel].Prefix, b.cfg.Router.Prefix)
			}
			conn, err := cytube.New(b.parts.bus, cc)
			if err != nil {
				return nil, err
			}
			cs = append(cs, conn)
		}
	case b.cfg.Console.Enabled:
		cc := b.cfg.Console.Config
		cc.Logger = b.cfg.Logger
		if cc.In == nil {
			cc.In = os.Stdin
		}
		if cc.Out == nil {
			cc.Out = os.Stdout
		}
		conn, err := console.New(b.parts.bus, cc)
		if err != nil {
			return nil, err
		}
		cs = append(cs, conn)
	default:
		return nil, nil
	}
	stop := func(ctx context.Context) error {
		started := b.parts.connectors
		b.parts.connectors = nil
		var errs []error
		for _, c := range slices.Backward(started) {
			errs = append(errs, c.Stop(ctx))
		}
		return errors.Join(errs...)
	}
	for i, c := range cs {
		if err := c.Start(ctx); err != nil {
			_ = stop(ctx)
			return nil, err
		}
		b.parts.connectors = cs[:i+1]
	}
	return stop, nil
}

// startMonitor serves metrics and health checks for the parts this process
// runs.
func (b *Bot) startMonitor(ctx context.Context) (func(context.Context) error, error) {
	m := b.parts.metrics
	if m == nil {
		return nil, nil
	}
	p := b.parts
	checks := []monitor.Check{{Name: "nats", Run: func(context.Context) error {
		if !p.bus.Conn().IsConnected() {
			return fmt.Errorf("not connected (%s)", p.bus.Conn().Status())
		}
		return nil
	}}}
	watch := []error{m.WatchNATS(p.bus.Conn())}
	if p.router != nil {
		watch = append(watch, m.WatchRouter(p.router))
	}
	if p.manager != nil {
		watch = append(watch, m.WatchPlugins(p.manager.Status))
		checks = append(checks, monitor.Check{Name: "plugins", Run: func(context.Context) error {
			var failed []string
			for _, s := range p.manager.Status() {
				if s.State == plugin.StateFailed {
					failed = append(failed, s.Info.Name+" failed: "+s.LastError)
				}
			}
			if len(failed) > 0 {
				return errors.New(strings.Join(failed, "; "))
			}
			return nil
		}})
	}
	if b.cfg.runs(ComponentDatabase) || b.cfg.runs(ComponentPlugins) {
		checks = append(checks, monitor.Check{Name: "database", Run: func(ctx context.Context) error {
			// The database service is a NATS micro service: PING answers
			// when one is serving, wherever it runs.
			if _, err := p.bus.Conn().RequestWithContext(ctx, "$SRV.PING."+database.ServiceName, nil); err != nil {
				return fmt.Errorf("no database service answers: %w", err)
			}
			return nil
		}})
	}
	// The connectors and the database service serve their figures over
	// NATS: gathered from there, those of other processes show too.
	gather, err := monitor.NewGatherer(monitor.GatherConfig{Conn: p.bus.Conn(), Prefix: p.bus.Prefix(), Logger: b.cfg.Logger})
	if err != nil {
		return nil, err
	}
	watch = append(watch, m.WatchGatherer(gather))
	if p.server != nil {
		watch = append(watch, m.WatchNATSServer(p.server.NATS()))
	}
	ccs := p.cytubeConnectors()
	if len(ccs) > 0 {
		checks = append(checks, monitor.Check{Name: "connector", Run: func(context.Context) error {
			var down []string
			for _, cc := range ccs {
				if st := cc.State(); st != protocol.StateConnected {
					down = append(down, fmt.Sprintf("channel %s: %s", cc.Channel(), st))
				}
			}
			if len(down) > 0 {
				return errors.New(strings.Join(down, "; "))
			}
			return nil
		}})
	}
	if err := errors.Join(watch...); err != nil {
		return nil, err
	}
	mc := monitor.Config{Listen: b.cfg.HTTP.Listen, Metrics: m, Checks: checks, Logger: b.cfg.Logger,
		// The dashboard's actions drive the plugin manager over NATS,
		// as !admin does, wherever the manager runs.
		Control: supervisor.NewControl(p.bus), AdminToken: b.cfg.HTTP.DashboardToken, Hosts: b.cfg.HTTP.Hosts}
	if mc.AdminToken == "" {
		mc.AdminToken = os.Getenv(DashboardTokenEnv)
	}
	if p.manager != nil {
		mc.Plugins = p.manager.Status
	} else {
		ctl := supervisor.NewControl(p.bus)
		mc.Plugins = func() []supervisor.Status {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			list, _ := ctl.List(ctx) // none when no manager answers
			return list
		}
	}
	nc := p.bus.Conn()
	mc.Rates = []monitor.Rate{
		{Name: "NATS in", Read: func() uint64 { return nc.Stats().InMsgs }},
		{Name: "NATS out", Read: func() uint64 { return nc.Stats().OutMsgs }},
	}
	mc.Rates = append(mc.Rates,
		monitor.Rate{Name: "chat in", Read: func() uint64 { in, _ := gather.ChatLines(); return in }},
		monitor.Rate{Name: "chat out", Read: func() uint64 { _, out := gather.ChatLines(); return out }})
	mc.Connectors = gather.ConnectorStates
	mc.Database = gather.Database
	for _, c := range p.connectors {
		con, ok := c.(*console.Connector)
		if !ok {
			continue
		}
		channel := cmp.Or(b.cfg.Console.Channel, "console")
		mc.Connectors = func() []monitor.ConnectorState {
			st := monitor.ConnectorState{Channel: channel, State: protocol.StateConnected, Reason: "console", Users: 1}
			select {
			case <-con.Done():
				st.State, st.Reason = protocol.StateDisconnected, "console input ended"
			default:
			}
			return []monitor.ConnectorState{st}
		}
	}
	srv, err := monitor.NewServer(mc)
	if err != nil {
		return nil, err
	}
	if err := gather.Start(ctx); err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		_ = gather.Stop(ctx)
		return nil, err
	}
	b.parts.monitor = srv
	return func(ctx context.Context) error {
		b.parts.monitor = nil
		return errors.Join(srv.Stop(ctx), gather.Stop(ctx))
	}, nil
}
