package rosey

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/configjson"
	"github.com/roseybot/rosey/marketplace"
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
// LoadConfig. It runs everything in one process on an embedded NATS server
// and SQLite in DefaultDataDir. A bot needs a connector: set CyTube.Channel,
// or Console.Enabled to chat at the terminal. A program or test that drives
// the bot through its bus instead says so with Components (CoreComponents).
type Config struct {
	NATS     NATSConfig     `json:"nats"`
	Database DatabaseConfig `json:"database"`
	Router   RouterConfig   `json:"router"`
	// CyTube connects to a channel when CyTube.Channel is set.
	CyTube cytube.Config `json:"cytube"`
	// Channels are more CyTube channels for the same bot, each with a
	// connector of its own (its own login, pacing and state). A server,
	// user, password or command prefix left empty is the cytube section's.
	// Everything the connectors publish names its channel, and the router
	// answers in the channel a command came from; a message that names no
	// channel (a plugin's Host.Say) goes to the first channel only. With
	// "router": {"channels": {…}} a channel gets a prefix of its own and
	// plugins that do not answer there.
	Channels []cytube.Config `json:"channels,omitempty"`
	// Console is used when no CyTube channel is set and Console.Enabled is true.
	Console ConsoleConfig `json:"console"`
	// HTTP serves metrics and health checks when HTTP.Listen is set.
	HTTP HTTPConfig `json:"http"`
	// PluginConfig holds each plugin's own section, by plugin name. A name
	// that matches no plugin is an error (see ExternalPlugins).
	PluginConfig map[string]json.RawMessage `json:"plugins,omitempty"`
	// DisabledPlugins are registered but not started. A name that matches no
	// plugin is an error. An admin's "!admin enable" or "!admin disable",
	// remembered in the database, wins over this list (the log says so).
	DisabledPlugins []string `json:"disabled_plugins,omitempty"`
	// ExternalPlugins names plugins that run in processes of their own
	// (plugin.Serve, another language, another machine) and may not be
	// running yet, so that a config file shared by a distributed bot can
	// hold their sections and disabled_plugins entries. This bot cannot
	// stop them: a disabled one is a warning in the log.
	ExternalPlugins []string `json:"external_plugins,omitempty"`
	// Marketplace says where installed plugins live (rosey plugin
	// install) and which catalogues to search. The process that runs the
	// plugins component supervises every installed plugin, each under a
	// NATS user of its own, and takes installs and removals while it runs.
	Marketplace MarketplaceConfig `json:"marketplace"`
	// Components limits what this process runs (the bus always runs); empty
	// means all, which needs a connector. See ComponentDatabase and friends.
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
	// Clock is the in-process plugins' Host.Clock (their timers and
	// schedules) and the router's (command timeouts, cooldowns); nil is
	// plugin.WallClock. roseytest sets one a test moves.
	Clock plugin.Clock `json:"-"`
	// OnBus, when set, runs once the bus is connected and before any other
	// component starts, so what it subscribes to is seen from the bot's
	// first message on (an audit log, a test harness). An error stops Start.
	OnBus func(context.Context, *eventbus.Bus) error `json:"-"`
	// File is the config file the config came from (set by LoadConfig); a
	// plugin reload re-reads the plugin's section from it.
	File string `json:"-"`
}

// CoreComponents are every component but the connector, for a process
// that runs a whole bot core and feeds it chat itself (a test harness, a
// program that publishes cytube.chat) or leaves the connector to another
// process.
func CoreComponents() []string {
	return []string{ComponentDatabase, ComponentPlugins, ComponentRouter}
}

// NATSSeedFile is the file in the data directory (Database.Dir, or
// DefaultDataDir) that keeps the credentials the embedded NATS server
// generates unless nats.embedded.seed_file names another.
const NATSSeedFile = "nats.nkey"

// NATSConfig says where the bus is. With no URLs an embedded server runs.
// A listening embedded server requires credentials: it generates an nkey
// (kept in NATSSeedFile, 0600) that the bot, the plugin processes it starts
// and external plugins (ROSEY_NATS_NKEY=<file>) log in with, unless
// Embedded.NoAuth is set or Embedded.ConfigFile sets up its own users.
type NATSConfig struct {
	eventbus.Config
	// RequestTimeout overrides eventbus.Config's, written as "5s".
	RequestTimeout Duration `json:"request_timeout,omitempty"`
	// Embedded configures the embedded server (used when URLs is empty).
	Embedded EmbeddedConfig `json:"embedded"`
}

// EmbeddedConfig configures the embedded NATS server.
type EmbeddedConfig struct {
	embedded.Config
	// ReadyTimeout overrides embedded.Config's, written as "10s".
	ReadyTimeout Duration `json:"ready_timeout,omitempty"`
}

// DatabaseConfig configures the database service.
type DatabaseConfig struct {
	dbservice.Config
	// BusyTimeout overrides dbservice.Config's, written as "5s".
	BusyTimeout Duration `json:"busy_timeout,omitempty"`
	// ReaderIdle overrides dbservice.Config's, written as "1m" ("-1s"
	// keeps unused read connections open).
	ReaderIdle Duration `json:"reader_idle,omitempty"`
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

// HTTPConfig configures the monitoring listener (package monitor): the
// live dashboard at /, /metrics in the Prometheus format, /healthz and
// /readyz.
type HTTPConfig struct {
	// Listen is the address, such as "127.0.0.1:9321"; empty serves
	// nothing. Any process of a distributed bot may serve its own.
	Listen string `json:"listen,omitempty"`
	// DashboardToken allows the dashboard's admin actions (enable,
	// disable, reload a plugin) to requests that carry it; empty takes
	// the environment's ROSEY_DASHBOARD_TOKEN, and without either the
	// dashboard is read-only. Never read from a config file.
	DashboardToken string `json:"-"`
	// Hosts are the host names, besides IP addresses and localhost, that
	// the dashboard answers to, such as a reverse proxy's public name.
	Hosts []string `json:"hosts,omitempty"`
}

// DashboardTokenEnv names the environment variable holding the
// dashboard's admin token (HTTPConfig.DashboardToken).
const DashboardTokenEnv = "ROSEY_DASHBOARD_TOKEN"

// MarketplaceConfig configures installed plugins (package marketplace).
type MarketplaceConfig struct {
	// Dir is the plugins folder; empty means "plugins" in the data
	// directory (Database.Dir, or DefaultDataDir).
	Dir string `json:"dir,omitempty"`
	// Catalogues are catalogue URLs (http, https) or files, searched after
	// the one shipped with Rosey.
	Catalogues []string `json:"catalogues,omitempty"`
	// Disabled runs no installed plugin (the folder is not read).
	Disabled bool `json:"disabled,omitempty"`
}

// PluginsDir is the folder of installed plugins (MarketplaceConfig.Dir).
func (c Config) PluginsDir() string {
	if c.Marketplace.Dir != "" {
		return c.Marketplace.Dir
	}
	return filepath.Join(c.dataDir(), "plugins")
}

// installedNames are the names of the installed plugins, or none when
// the marketplace is disabled or its record cannot be read (the bot logs
// that when it starts).
func (c Config) installedNames() []string {
	if c.Marketplace.Disabled {
		return nil
	}
	list, _ := marketplace.ReadState(c.PluginsDir())
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	return names
}

// ConsoleConfig configures the console connector.
type ConsoleConfig struct {
	console.Config
	// Enabled runs the console connector (when no CyTube channel is set).
	// In and Out default to os.Stdin and os.Stdout.
	Enabled bool `json:"enabled,omitempty"`
}

// UnmarshalJSON reads "enabled" and hands the rest to console.Config
// (whose own UnmarshalJSON would otherwise hide Enabled).
func (c *ConsoleConfig) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for k, v := range fields {
		if strings.EqualFold(k, "enabled") {
			if err := json.Unmarshal(v, &c.Enabled); err != nil {
				return fmt.Errorf("console.enabled: %w", err)
			}
			delete(fields, k)
		}
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return c.Config.UnmarshalJSON(rest)
}

// Duration is a time.Duration written in JSON as a string with a unit,
// "1m30s"; it is plugin.Duration.
type Duration = plugin.Duration

// LoadConfig reads a JSON config file, takes secrets from the environment
// (see ApplyEnv) and validates the result. Unknown fields are errors, so a
// typo does not silently do nothing, and so are durations without a unit.
// What a program usually adds after loading (Plugins, a console) is checked
// by Validate when the bot starts: that there is a connector, and that
// every plugin section and disabled_plugins name matches a plugin.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := configjson.CheckDurations(raw, reflect.TypeFor[Config]()); err != nil {
		return cfg, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	cfg.File = path
	cfg.ApplyEnv(os.Getenv)
	return cfg, cfg.validate(false)
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
// in the config file. Start calls it.
func (c Config) Validate() error { return c.validate(true) }

// validate checks c; complete says the program has filled in what a
// config file cannot hold (Plugins, a console's In and Out), so the
// connector and the plugin names can be checked too.
func (c Config) validate(complete bool) error {
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
	if c.runs(ComponentConnector) {
		if len(c.Channels) > 0 && c.CyTube.Channel == "" {
			return fmt.Errorf("%w: channels: set cytube.channel too: it is the first channel, and the others take its server and user", ErrConfig)
		}
		seen := map[string]bool{}
		for i, cc := range c.cytubeConfigs() {
			if err := cc.Validate(); err != nil {
				if i == 0 {
					return fmt.Errorf("%w: %w", ErrConfig, err)
				}
				return fmt.Errorf("%w: channels[%d]: %w", ErrConfig, i-1, err)
			}
			name := strings.ToLower(cc.Channel)
			if seen[name] {
				return fmt.Errorf("%w: channels[%d]: channel %q is listed twice", ErrConfig, i-1, cc.Channel)
			}
			seen[name] = true
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
	for i, name := range c.ExternalPlugins {
		if err := (plugin.Info{Name: name, Version: "0.0.0"}).Validate(); err != nil {
			return fmt.Errorf("%w: external_plugins[%d]: %w", ErrConfig, i, err)
		}
		if seen[name] {
			return fmt.Errorf("%w: external_plugins[%d]: %q also runs in this process", ErrConfig, i, name)
		}
	}
	if !complete {
		return nil
	}
	if err := c.checkConnector(); err != nil {
		return err
	}
	return c.checkPluginNames()
}

// checkConnector refuses a whole bot with no connector: it would run and
// hear nothing.
func (c Config) checkConnector() error {
	if !c.runs(ComponentConnector) || c.CyTube.Channel != "" || len(c.Channels) > 0 || c.Console.Enabled {
		return nil
	}
	return fmt.Errorf(`%w: no connector: set cytube.channel, or console.enabled to chat at the terminal; a process without one lists what it runs in "components" (-components, rosey.CoreComponents)`, ErrConfig)
}

// checkPluginNames refuses a plugin section or disabled_plugins entry that
// names no plugin: a typo there would otherwise do nothing, silently. A
// process that runs no plugins leaves the check to those that do.
func (c Config) checkPluginNames() error {
	if !c.runs(ComponentPlugins) {
		return nil
	}
	known := slices.Concat(c.ExternalPlugins, c.installedNames())
	for _, p := range c.Plugins {
		known = append(known, p.Info().Name)
	}
	slices.Sort(known)
	unknown := func(name string) error {
		return fmt.Errorf(`no plugin named %q (known: %s; declare a plugin that runs in a process of its own in "external_plugins", or install it: rosey plugin install)`, name, strings.Join(known, ", "))
	}
	sections := make([]string, 0, len(c.PluginConfig))
	for name := range c.PluginConfig {
		sections = append(sections, name)
	}
	slices.Sort(sections)
	for _, name := range sections {
		if !slices.Contains(known, name) {
			return fmt.Errorf("%w: plugins: %w", ErrConfig, unknown(name))
		}
	}
	for i, name := range c.DisabledPlugins {
		if !slices.Contains(known, name) {
			return fmt.Errorf("%w: disabled_plugins[%d]: %w", ErrConfig, i, unknown(name))
		}
	}
	return nil
}

func (c Config) runs(component string) bool {
	return len(c.Components) == 0 || component == ComponentBus || component == componentMonitor || slices.Contains(c.Components, component)
}

// componentMonitor serves metrics in any process that sets HTTP.Listen;
// it is not one of the Components a process chooses.
const componentMonitor = "monitor"

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

// dataDir is the directory for the bot's files: the SQLite directory, or
// DefaultDataDir.
func (c Config) dataDir() string {
	if c.Database.Dir != "" {
		return c.Database.Dir
	}
	return DefaultDataDir
}

// hasCredentials reports whether bc carries credentials of its own.
func hasCredentials(bc eventbus.Config) bool {
	return bc.User != "" || bc.Token != "" || bc.CredentialsFile != "" || bc.NKeyFile != "" || bc.NKeySeed != ""
}

// ClientConfig returns how another process (an external plugin, a plugin
// process the bot starts) reaches this bot's NATS once it runs: the
// embedded server's URL with the credentials file it generated, or the
// configured URLs and credentials. With no URLs nothing is reachable (an
// embedded server without a listener). supervisor.BusEnv turns it into the
// ROSEY_NATS_* variables a plugin binary reads.
func (b *Bot) ClientConfig() eventbus.Config {
	nc := b.cfg.NATS.Config
	out := eventbus.Config{
		URLs: nc.URLs, User: nc.User, Password: nc.Password, Token: nc.Token,
		CredentialsFile: nc.CredentialsFile, NKeyFile: nc.NKeyFile, TLS: nc.TLS, Prefix: nc.Prefix,
	}
	if srv := b.parts.server; srv != nil {
		out.URLs = nil
		if u := srv.ClientURL(); u != "" {
			out.URLs = []string{u}
		}
		if file, generated := srv.Credentials(); generated && !hasCredentials(out) {
			out.NKeyFile = file
		}
	}
	return out
}

func (c Config) databaseConfig() dbservice.Config {
	dc := c.Database.Config
	if dc.Dir == "" && dc.URL == "" {
		dc.Dir = DefaultDataDir
	}
	if c.Database.BusyTimeout != 0 {
		dc.BusyTimeout = time.Duration(c.Database.BusyTimeout)
	}
	if c.Database.ReaderIdle != 0 {
		dc.ReaderIdle = time.Duration(c.Database.ReaderIdle)
	}
	dc.Logger = c.Logger
	return dc
}

func (c Config) routerConfig() router.Config {
	rc := c.Router.Config
	rc.Timeout = time.Duration(c.Router.Timeout)
	rc.HintEvery = time.Duration(c.Router.HintEvery)
	rc.Logger = c.Logger
	rc.Clock = c.Clock
	return rc
}

// cytubeConfigs returns the CyTube channels to join: the cytube section's,
// then Channels with what they leave empty taken from it.
func (c Config) cytubeConfigs() []cytube.Config {
	if c.CyTube.Channel == "" {
		return nil
	}
	out := []cytube.Config{c.CyTube}
	for _, cc := range c.Channels {
		cc.Server = cmp.Or(cc.Server, c.CyTube.Server)
		if cc.User == "" {
			cc.User, cc.Password = c.CyTube.User, cmp.Or(cc.Password, c.CyTube.Password)
		}
		cc.CommandPrefix = cmp.Or(cc.CommandPrefix, c.CyTube.CommandPrefix)
		cc.NamedOnly = true
		out = append(out, cc)
	}
	return out
}

// monitors says whether the bot serves metrics.
func (c Config) monitors() bool { return c.HTTP.Listen != "" }

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
