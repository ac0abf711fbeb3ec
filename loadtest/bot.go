package loadtest

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/builtin"
)

// Layout is where a bot's plugins run.
type Layout string

// The layouts StartBot knows.
const (
	// InProcess runs every plugin in the bot's process.
	InProcess Layout = "in-process"
	// Distributed runs every plugin in a process of its own, supervised by
	// the bot and connected to its NATS server over TCP, as
	// `rosey run -plugin-mode distributed` does.
	Distributed Layout = "distributed"
)

// ErrBadLayout is returned by StartBot for a layout it does not know.
var ErrBadLayout = errors.New("loadtest: layout is not in-process or distributed")

// BotConfig is the bot StartBot starts.
type BotConfig struct {
	// Layout is where the plugins run; default InProcess.
	Layout Layout
	// Config is the bot's configuration. StartBot runs its core only (the
	// harness stands in for the connector), keeps its data in a temporary
	// directory unless Database.Dir or Database.URL is set, and, for
	// Distributed, lets the embedded NATS server listen on a free local
	// port.
	Config rosey.Config
	// Plugins are the plugins to run in process; default the built-in
	// ones (builtin.All).
	Plugins []plugin.Plugin
	// PluginCommand is how Distributed starts the process serving the
	// plugin called name: default this program with the arguments
	// "plugin NAME", as the rosey binary takes them. Distributed runs the
	// built-in plugins.
	PluginCommand func(name string) (path string, args []string)
}

// Bot is a bot started by StartBot.
type Bot struct {
	*rosey.Bot
	dir string // the temporary data directory, removed by Stop
}

// StartBot starts a bot's core (database, plugins, router) on an embedded
// NATS server for the harness to load through its Bus.
func StartBot(ctx context.Context, cfg BotConfig) (*Bot, error) {
	c := cfg.Config
	c.Components = rosey.CoreComponents()
	b := &Bot{}
	if c.Database.Dir == "" && c.Database.URL == "" {
		dir, err := os.MkdirTemp("", "rosey-loadtest-")
		if err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
		b.dir, c.Database.Dir = dir, dir
	}
	switch cfg.Layout {
	case InProcess, "":
		c.Plugins = cfg.Plugins
		if c.Plugins == nil {
			c.Plugins = builtin.All()
		}
		if len(c.NATS.URLs) == 0 && c.NATS.Embedded.Listen == "" {
			c.NATS.Embedded.NoListen = true
		}
	case Distributed:
		if len(c.NATS.URLs) == 0 {
			c.NATS.Embedded.NoListen = false
			if c.NATS.Embedded.Listen == "" {
				c.NATS.Embedded.Listen = "127.0.0.1:0"
			}
		}
		command := cfg.PluginCommand
		if command == nil {
			self, err := os.Executable()
			if err != nil {
				b.cleanup()
				return nil, fmt.Errorf("loadtest: distributed: %w", err)
			}
			command = func(name string) (string, []string) { return self, []string{"plugin", name} }
		}
		env := func() []string { return supervisor.BusEnv(b.ClientConfig()) }
		c.Plugins = nil
		for _, p := range builtin.All() {
			info := p.Info()
			path, args := command(info.Name)
			c.Plugins = append(c.Plugins, supervisor.NewProcess(supervisor.ProcessConfig{Info: info, Path: path, Args: args, EnvFunc: env}))
		}
	default:
		b.cleanup()
		return nil, fmt.Errorf("%w: %q", ErrBadLayout, cfg.Layout)
	}
	b.Bot = rosey.New(c)
	if err := b.Bot.Start(ctx); err != nil {
		b.cleanup()
		return nil, err
	}
	return b, nil
}

// Stop stops the bot and removes its temporary data directory.
func (b *Bot) Stop(ctx context.Context) error {
	err := b.Bot.Stop(ctx)
	b.cleanup()
	return err
}

func (b *Bot) cleanup() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
