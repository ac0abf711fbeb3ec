package rosey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/router"
)

// ErrConfig means the configuration is invalid; the message names the field.
var ErrConfig = errors.New("rosey: invalid config")

// Component names, in start order, for Config.Components.
const (
	ComponentBus       = "eventbus"
	ComponentDatabase  = "database"
	ComponentPlugins   = "plugins"
	ComponentRouter    = "router"
	ComponentConnector = "connector"
)

// DefaultDataDir holds the SQLite database when no directory is configured.
const DefaultDataDir = "data"

// Config is the whole bot's configuration, loadable from a JSON file with
// LoadConfig. The zero value runs everything in one process on an embedded
// NATS server and SQLite in DefaultDataDir, with no connector (set
// CyTube.Channel, or Console.Enabled with Console.In and Out).
type Config struct {
	NATS     NATSConfig     `json:"nats"`
	Database DatabaseConfig `json:"database"`
	Router   RouterConfig   `json:"router"`
	// CyTube connects to a channel when CyTube.Channel is set.
	CyTube cytube.Config `json:"cytube"`
	// Console is used when no CyTube channel is set and Console.Enabled is true.
	Console ConsoleConfig `json:"console"`
	// PluginConfig holds each plugin's own section, by plugin name.
	PluginConfig map[string]json.RawMessage `json:"plugins,omitempty"`
	// DisabledPlugins are registered but not started.
	DisabledPlugins []string `json:"disabled_plugins,omitempty"`
	// Components limits what this process runs (the bus always runs); empty
	// means all. See ComponentDatabase and friends.
	Components []string `json:"components,omitempty"`

	// Plugins are the in-process plugins to run.
	Plugins []plugin.Plugin `json:"-"`
	// Middleware wraps the command handlers of every in-process plugin
	// (the first is outermost), for what all commands should do alike:
	// plugin.LogCommands, plugin.Timeout, metrics, extra checks. A plugin
	// in a process of its own takes plugin.ServeConfig.Middleware instead.
	Middleware []plugin.Middleware `json:"-"`
	// Logger receives every component's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
	// OnBus, when set, runs once the bus is connected and before any other
	// component starts, so what it subscribes to is seen from the bot's
	// first message on (an audit log, a test harness). An error stops Start.
	OnBus func(context.Context, *eventbus.Bus) error `json:"-"`
	// File is the config file the config came from (set by LoadConfig); a
	// plugin reload re-reads the plugin's section from it.
	File string `json:"-"`
}

// NATSConfig says where the bus is. With no URLs an embedded server runs.
type NATSConfig struct {
	eventbus.Config
	// RequestTimeout overrides eventbus.Config's, written as "5s".
	RequestTimeout Duration `json:"request_timeout,omitempty"`
	// Embedded configures the embedded server (used when URLs is empty).
	Embedded embedded.Config `json:"embedded"`
}

// DatabaseConfig configures the database service.
type DatabaseConfig struct {
	dbservice.Config
	// BusyTimeout overrides dbservice.Config's, written as "5s".
	BusyTimeout Duration `json:"busy_timeout,omitempty"`
	// Disabled runs no database service (plugins get a client that finds none).
	Disabled bool `json:"disabled,omitempty"`
}

// RouterConfig configures the command router.
type RouterConfig struct {
	router.Config
	// Timeout is how long a plugin has to answer, written as "5s".
	Timeout Duration `json:"timeout,omitempty"`
	// HintEvery limits unknown-command hints per user, written as "1m".
	HintEvery Duration `json:"hint_every,omitempty"`
}

// ConsoleConfig configures the console connector.
type ConsoleConfig struct {
	console.Config
	Enabled bool `json:"enabled,omitempty"`
}

// Duration is a time.Duration written in JSON as "1m30s" (or a number of
// seconds); it is plugin.Duration.
type Duration = plugin.Duration

// LoadConfig reads a JSON config file, takes secrets from the environment
// (see ApplyEnv) and validates the result. Unknown fields are errors, so a
// typo does not silently do nothing.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	cfg.File = path
	cfg.ApplyEnv(os.Getenv)
	return cfg, cfg.Validate()
}

// Environment variables read by ApplyEnv. Secrets belong here rather than
// in a config file.
const (
	EnvNATSURL      = "ROSEY_NATS_URL" // comma-separated
	EnvNATSUser     = "ROSEY_NATS_USER"
	EnvNATSPassword = "ROSEY_NATS_PASSWORD"
	EnvNATSToken    = "ROSEY_NATS_TOKEN"
	EnvNATSCreds    = "ROSEY_NATS_CREDS"
	EnvNATSNKey     = "ROSEY_NATS_NKEY"
	// EnvNATSInboxPrefix sets nats.inbox_prefix (a router of its own under
	// a least-privilege user: "_INBOX.router").
	EnvNATSInboxPrefix = "ROSEY_NATS_INBOX_PREFIX"
	EnvDatabaseURL     = "ROSEY_DATABASE_URL"
)

// ApplyEnv fills fields from environment variables that are set; getenv is
// usually os.Getenv. The CyTube variables are cytube.EnvPassword and friends.
func (c *Config) ApplyEnv(getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	if v := getenv(EnvNATSURL); v != "" {
		c.NATS.URLs = strings.Split(v, ",")
	}
	set(&c.NATS.User, EnvNATSUser)
	set(&c.NATS.Password, EnvNATSPassword)
	set(&c.NATS.Token, EnvNATSToken)
	set(&c.NATS.CredentialsFile, EnvNATSCreds)
	set(&c.NATS.NKeyFile, EnvNATSNKey)
	set(&c.NATS.InboxPrefix, EnvNATSInboxPrefix)
	if v := getenv(EnvDatabaseURL); v != "" {
		c.Database.URL, c.Database.Dir = v, ""
	}
	c.CyTube.FromLookup(func(k string) (string, bool) { v := getenv(k); return v, v != "" })
}

// Validate reports the first problem, naming the field as it is written
// in the config file.
func (c Config) Validate() error {
	for i, comp := range c.Components {
		if !slices.Contains([]string{ComponentBus, ComponentDatabase, ComponentPlugins, ComponentRouter, ComponentConnector}, comp) {
			return fmt.Errorf("%w: components[%d]: unknown component %q", ErrConfig, i, comp)
		}
	}
	if len(c.NATS.URLs) > 0 {
		if err := c.busConfig().Validate(); err != nil {
			return fmt.Errorf("%w: nats: %w", ErrConfig, err)
		}
	}
	if c.runs(ComponentDatabase) && !c.Database.Disabled {
		if err := c.databaseConfig().Validate(); err != nil {
			return fmt.Errorf("%w: database: %w", ErrConfig, err)
		}
	}
	if c.CyTube.Channel != "" && c.runs(ComponentConnector) {
		if err := c.CyTube.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if err := c.routerConfig().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Router.Timeout < 0 {
		return fmt.Errorf("%w: router.timeout: must not be negative", ErrConfig)
	}
	seen := map[string]bool{}
	for i, p := range c.Plugins {
		if p == nil {
			return fmt.Errorf("%w: plugins[%d]: nil plugin", ErrConfig, i)
		}
		info := p.Info()
		if err := info.Validate(); err != nil {
			return fmt.Errorf("%w: plugins[%d]: %w", ErrConfig, i, err)
		}
		if seen[info.Name] {
			return fmt.Errorf("%w: plugins[%d]: %q registered twice", ErrConfig, i, info.Name)
		}
		seen[info.Name] = true
	}
	return nil
}

func (c Config) runs(component string) bool {
	return len(c.Components) == 0 || component == ComponentBus || slices.Contains(c.Components, component)
}

func (c Config) busConfig() eventbus.Config {
	bc := c.NATS.Config
	if c.NATS.RequestTimeout != 0 {
		bc.RequestTimeout = time.Duration(c.NATS.RequestTimeout)
	}
	if bc.Name == "" {
		bc.Name = "rosey"
	}
	bc.Logger = c.Logger
	return bc
}

func (c Config) databaseConfig() dbservice.Config {
	dc := c.Database.Config
	if dc.Dir == "" && dc.URL == "" {
		dc.Dir = DefaultDataDir
	}
	if c.Database.BusyTimeout != 0 {
		dc.BusyTimeout = time.Duration(c.Database.BusyTimeout)
	}
	dc.Logger = c.Logger
	return dc
}

func (c Config) routerConfig() router.Config {
	rc := c.Router.Config
	rc.Timeout = time.Duration(c.Router.Timeout)
	rc.HintEvery = time.Duration(c.Router.HintEvery)
	rc.Logger = c.Logger
	return rc
}

// pluginSection re-reads one plugin's section from the config file, so a
// reload sees edits; without a file it returns the section in memory.
func (c Config) pluginSection(name string) (json.RawMessage, error) {
	if c.File == "" {
		return c.PluginConfig[name], nil
	}
	var fresh struct {
		Plugins map[string]json.RawMessage `json:"plugins"`
	}
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &fresh); err != nil {
		return nil, fmt.Errorf("%s: %w", c.File, err)
	}
	return fresh.Plugins[name], nil
}
