package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/pluginenv"
)

// Environment variables read by Serve (flags of the same meaning win).
const (
	EnvNATSURL      = "ROSEY_NATS_URL" // comma-separated for a cluster
	EnvNATSUser     = "ROSEY_NATS_USER"
	EnvNATSPassword = "ROSEY_NATS_PASSWORD"
	EnvNATSToken    = "ROSEY_NATS_TOKEN"
	EnvNATSCreds    = "ROSEY_NATS_CREDS"
	EnvNATSNKey     = "ROSEY_NATS_NKEY"
	EnvNATSPrefix   = "ROSEY_NATS_PREFIX"
	// EnvNATSInboxPrefix overrides InboxPrefix(name) for the replies to
	// the plugin's own requests.
	EnvNATSInboxPrefix = "ROSEY_NATS_INBOX_PREFIX"
	// EnvPluginConfig holds the plugin's config section as JSON, or @file.
	EnvPluginConfig = "ROSEY_PLUGIN_CONFIG"
	// EnvPluginManifest names the plugin's manifest (rosey-plugin.json,
	// see docs/PLUGINS.md); Serve refuses to start when the plugin's Info
	// differs from it. The bot sets it for the plugins it installed.
	EnvPluginManifest = "ROSEY_PLUGIN_MANIFEST"
	EnvLogLevel       = "ROSEY_LOG_LEVEL"
)

// DefaultNATSURL is where Serve connects when nothing else is said: the
// embedded server of `rosey console`.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// InboxPrefix is the reply-subject prefix a plugin's connection uses
// unless told otherwise: "_INBOX.plugin.<name>". A least-privilege NATS
// user for the plugin may subscribe to "_INBOX.plugin.<name>.>" only, so
// it cannot read the replies to anybody else's requests. ("plugin" keeps
// these apart from the bot's own random _INBOX.<nuid> inboxes and from a
// router's "_INBOX.router".)
func InboxPrefix(name string) string { return "_INBOX.plugin." + name }

// ServeConfig configures ServeContext.
type ServeConfig struct {
	// Bus says how to reach NATS. Its Name defaults to
	// "rosey-plugin-<name>" and its InboxPrefix to InboxPrefix(name).
	Bus eventbus.Config
	// Config is the plugin's config section.
	Config json.RawMessage
	// StopTimeout bounds the plugin's stop; zero means 10 seconds.
	StopTimeout time.Duration
	// Logger receives the plugin's logs; nil is silent.
	Logger *slog.Logger
	// Middleware wraps the plugin's command handlers, around its own
	// (Host.Use); the first is outermost.
	Middleware []Middleware
	// Manifest, when set, is the plugin's manifest file (rosey-plugin.json):
	// ServeContext refuses to start (ErrManifestMismatch) when the plugin's
	// Info says otherwise, so what the owner was shown before installing is
	// what runs.
	Manifest string
}

// ErrManifestMismatch means the plugin's Info differs from its manifest.
var ErrManifestMismatch = errors.New("plugin: Info differs from the manifest")

// checkManifest compares info with the Info fields of the manifest file.
func checkManifest(info Info, file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("plugin %s: manifest: %w", info.Name, err)
	}
	var m Info
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("plugin %s: manifest %s: %w", info.Name, file, err)
	}
	differs := func(field string, manifest, plugin any) error {
		return fmt.Errorf("%w: %s: %s says %s %v, the plugin %v", ErrManifestMismatch, info.Name, file, field, manifest, plugin)
	}
	switch {
	case m.Name != info.Name:
		return differs("name", m.Name, info.Name)
	case m.Version != info.Version:
		return differs("version", m.Version, info.Version)
	case m.Description != info.Description:
		return differs("description", strconv.Quote(m.Description), strconv.Quote(info.Description))
	}
	a, _ := json.Marshal(m.Commands)
	b, _ := json.Marshal(info.Commands)
	if string(a) != string(b) {
		return differs("commands", string(a), string(b))
	}
	return nil
}

// Serve runs p as its own process: it reads flags (-nats, -user,
// -password, -token, -creds, -nkey, -prefix, -inbox-prefix, -config,
// -manifest, -log-level) and the
// matching ROSEY_* environment variables, connects to NATS, registers the
// plugin (its micro service and commands), and runs until SIGINT or SIGTERM
// (then drains and stops) or until the connection is closed for good.
// With -h it prints the flags and returns nil.
// Call it from main:
//
//	func main() {
//		if err := plugin.Serve(myplugin.New()); err != nil {
//			log.Fatal(err)
//		}
//	}
func Serve(p Plugin) error {
	name := p.Info().Name
	set, err := pluginenv.Parse(name, os.Args[1:], os.Getenv, InboxPrefix(name))
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the flags' usage is printed; asking is not a failure
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ServeContext(ctx, p, ServeConfig{Bus: set.Bus, Config: set.Config, Logger: set.Logger, Manifest: set.Manifest})
}

// ServeContext runs p on the bus cfg describes until ctx ends or the
// connection closes for good, then stops the plugin and drains.
func ServeContext(ctx context.Context, p Plugin, cfg ServeConfig) error {
	info := p.Info()
	if err := info.Validate(); err != nil {
		return err
	}
	if cfg.Manifest != "" {
		if err := checkManifest(info, cfg.Manifest); err != nil {
			return err
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bc := cfg.Bus
	if bc.Name == "" {
		bc.Name = "rosey-plugin-" + info.Name
	}
	if bc.InboxPrefix == "" {
		bc.InboxPrefix = InboxPrefix(info.Name)
	}
	if bc.Logger == nil {
		bc.Logger = log
	}
	if bc.MaxReconnects == 0 && bc.InProcess == nil {
		// About four minutes of trying (2 s apart) before giving up for good.
		bc.MaxReconnects = 120
	}
	bus, err := eventbus.Connect(ctx, bc)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", info.Name, err)
	}
	in, err := Run(ctx, p, bus, RunConfig{DB: database.NewClient(bus), Config: cfg.Config, Logger: log, Middleware: cfg.Middleware})
	if err != nil {
		_ = bus.Close(context.Background())
		return err
	}
	in.Announce(ctx, StateStarted, "")
	// Say "serving" only once the server has the endpoint's subscription:
	// until then a command gets "no responders".
	if err := bus.Flush(ctx); err != nil {
		log.Warn("flush after start failed", "plugin", info.Name, "err", err)
	}
	log.Info("plugin serving", "plugin", info.Name, "version", info.Version, "nats", bus.Conn().ConnectedUrl())

	var closedForGood bool
	select {
	case <-ctx.Done():
	case <-bus.Closed():
		closedForGood = true
	}
	timeout := cfg.StopTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	id := in.ID()
	stopErr := in.Stop(stopCtx)
	if !closedForGood {
		a := Announcement{Info: info, Instance: id, State: StateStopped}
		if err := bus.Publish(stopCtx, "platform.plugin."+info.Name+"."+StateStopped, a); err != nil {
			log.Warn("announce failed", "err", err)
		}
	}
	closeErr := bus.Close(stopCtx)
	log.Info("plugin stopped", "plugin", info.Name)
	if closedForGood {
		return errors.Join(fmt.Errorf("plugin %s: %w", info.Name, ErrConnectionLost), stopErr)
	}
	return errors.Join(stopErr, closeErr)
}

// ErrConnectionLost means the NATS connection closed for good (the server
// went away and reconnecting gave up).
var ErrConnectionLost = errors.New("plugin: NATS connection lost")
