package rosey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// Version is the version of this release of Rosey.
const Version = "0.1.0"

// Bot is a whole bot: event bus, database service, plugin manager, router
// and connector, started in that order and stopped in reverse. It holds no
// business logic; everything a user sees comes from plugins.
type Bot struct {
	cfg     Config
	log     *slog.Logger
	parts   parts
	stops   []func(context.Context) error
	started []string
}

// New returns a bot for cfg. Nothing runs until Start.
func New(cfg Config) *Bot {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bot{cfg: cfg, log: log}
}

// Start starts the components: EventBus → Database → PluginManager → Router
// → Connector. If one fails, those already started are stopped again and
// the error names the component.
func (b *Bot) Start(ctx context.Context) error {
	if err := b.cfg.Validate(); err != nil {
		return err
	}
	steps := []struct {
		name  string
		start func(context.Context) (func(context.Context) error, error)
	}{
		{ComponentBus, b.startBus},
		{ComponentDatabase, b.startDatabase},
		{ComponentPlugins, b.startPlugins},
		{ComponentRouter, b.startRouter},
		{ComponentConnector, b.startConnector},
		{componentMonitor, b.startMonitor},
	}
	for _, s := range steps {
		if !b.cfg.runs(s.name) {
			continue
		}
		t := time.Now()
		stop, err := s.start(ctx)
		b.log.Debug("component started", "component", s.name, "took", time.Since(t))
		if err != nil {
			_ = b.stopAll(ctx)
			return fmt.Errorf("rosey: start %s: %w", s.name, err)
		}
		if stop != nil {
			b.stops = append(b.stops, stop)
			b.started = append(b.started, s.name)
		}
	}
	b.announce(ctx, protocol.Startup)
	b.log.Info("rosey started", "version", Version, "components", b.started)
	return nil
}

// Stop stops the components in reverse order of their start. It is safe to
// call more than once.
func (b *Bot) Stop(ctx context.Context) error {
	if len(b.stops) == 0 {
		return nil
	}
	b.announce(ctx, protocol.Shutdown)
	err := b.stopAll(ctx)
	b.log.Info("rosey stopped")
	return err
}

func (b *Bot) stopAll(ctx context.Context) error {
	var errs []error
	for i := len(b.stops) - 1; i >= 0; i-- {
		t := time.Now()
		if err := b.stops[i](ctx); err != nil {
			errs = append(errs, fmt.Errorf("rosey: stop %s: %w", b.started[i], err))
		}
		b.log.Debug("component stopped", "component", b.started[i], "took", time.Since(t))
	}
	b.stops, b.started = nil, nil
	return errors.Join(errs...)
}

// Run starts the bot and runs it until ctx is done or the connector ends
// (console input closed, or a fatal CyTube error), then stops it. It
// returns the connector's fatal error, if any.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.Start(ctx); err != nil {
		return err
	}
	return b.Wait(ctx)
}

// Wait blocks until ctx is done or the connector ends, then stops the
// started bot, giving shutdown up to ten seconds.
func (b *Bot) Wait(ctx context.Context) error {
	var runErr error
	select {
	case <-ctx.Done():
	case <-b.parts.connectorDone():
		runErr = b.parts.connectorErr()
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(runErr, b.Stop(stopCtx))
}

// Bus returns the bot's event bus once started, for code that wants to
// publish or subscribe alongside the bot.
func (b *Bot) Bus() *eventbus.Bus { return b.parts.bus }

// Plugins returns the plugin manager once started, or nil when this
// process runs no plugins.
func (b *Bot) Plugins() *supervisor.Manager { return b.parts.manager }

// MonitorAddr is the address serving /metrics, /healthz and /readyz, or ""
// when Config.HTTP.Listen is not set.
func (b *Bot) MonitorAddr() string {
	if b.parts.monitor == nil {
		return ""
	}
	return b.parts.monitor.Addr()
}

// Router returns the command router, or nil when this process runs none.
func (b *Bot) Router() *router.Router { return b.parts.router }

// NATSURL is the URL of the embedded NATS server for other processes
// (external plugins), or "" when it has no listener or is not used.
func (b *Bot) NATSURL() string { return b.parts.natsURL() }

func (b *Bot) announce(ctx context.Context, subject string) {
	if b.parts.bus == nil {
		return
	}
	ev := protocol.PlatformEvent{Version: Version, Components: b.started}
	if err := b.parts.bus.Publish(ctx, subject, ev); err != nil {
		b.log.Warn("could not announce", "subject", subject, "err", err)
	}
}
