package rosey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/router"
)

// parts are the running components; each start function fills its own.
type parts struct {
	server    *embedded.Server
	bus       *eventbus.Bus
	db        *database.Client
	manager   *plugin.Manager
	router    *router.Router
	connector connector
}

// connector is what the CyTube and console connectors have in common.
type connector interface {
	Start(context.Context) error
	Stop(context.Context) error
	Done() <-chan struct{}
}

func (p *parts) connectorDone() <-chan struct{} {
	if p.connector == nil {
		return nil // blocks forever in a select: nothing to wait for
	}
	return p.connector.Done()
}

func (p *parts) connectorErr() error {
	if c, ok := p.connector.(interface{ Err() error }); ok {
		return c.Err()
	}
	return nil
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
		srv, err := embedded.Start(ctx, ec)
		if err != nil {
			return nil, err
		}
		b.parts.server = srv
		bc.InProcess = srv.NATS()
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
	m, err := plugin.NewManager(plugin.ManagerConfig{
		Bus:      b.parts.bus,
		DB:       b.parts.db,
		Disabled: b.cfg.DisabledPlugins,
		ConfigSource: func(_ context.Context, name string) (json.RawMessage, error) {
			return b.cfg.pluginSection(name)
		},
		Logger:     b.cfg.Logger,
		Middleware: b.cfg.Middleware,
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
	b.parts.manager = m
	return func(ctx context.Context) error {
		b.parts.manager = nil
		return m.Stop(ctx)
	}, nil
}

func (b *Bot) startRouter(ctx context.Context) (func(context.Context) error, error) {
	var dir *plugin.Directory
	if b.parts.manager != nil {
		dir = b.parts.manager.Directory()
	}
	r, err := router.New(b.parts.bus, dir, b.cfg.routerConfig())
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
	var c connector
	switch {
	case b.cfg.CyTube.Channel != "":
		cc := b.cfg.CyTube
		cc.Logger = b.cfg.Logger
		if cc.CommandPrefix == "" {
			cc.CommandPrefix = b.cfg.Router.Prefix // a reply's later parts never start a command
		}
		conn, err := cytube.New(b.parts.bus, cc)
		if err != nil {
			return nil, err
		}
		c = conn
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
		c = conn
	default:
		return nil, nil
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	b.parts.connector = c
	return func(ctx context.Context) error {
		b.parts.connector = nil
		return c.Stop(ctx)
	}, nil
}
