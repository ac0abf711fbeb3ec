// Package pluginenv reads and writes how a plugin process reaches the bot:
// the ROSEY_* environment variables and the flags of plugin.Serve. The
// plugin package reads them; the supervisor that starts plugin processes
// writes them; both sides share this one definition.
package pluginenv

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/roseybot/rosey/eventbus"
)

// Environment variables read by a plugin process (flags of the same
// meaning win).
const (
	NATSURL      = "ROSEY_NATS_URL" // comma-separated for a cluster
	NATSUser     = "ROSEY_NATS_USER"
	NATSPassword = "ROSEY_NATS_PASSWORD"
	NATSToken    = "ROSEY_NATS_TOKEN"
	NATSCreds    = "ROSEY_NATS_CREDS"
	NATSNKey     = "ROSEY_NATS_NKEY"
	NATSPrefix   = "ROSEY_NATS_PREFIX"
	// NATSInboxPrefix overrides the plugin's own inbox prefix.
	NATSInboxPrefix = "ROSEY_NATS_INBOX_PREFIX"
	// PluginConfig holds the plugin's config section as JSON, or @file.
	PluginConfig = "ROSEY_PLUGIN_CONFIG"
	// PluginManifest names the plugin's manifest (rosey-plugin.json),
	// which the plugin checks against its Info before it serves.
	PluginManifest = "ROSEY_PLUGIN_MANIFEST"
	LogLevel       = "ROSEY_LOG_LEVEL"
)

// DefaultNATSURL is where a plugin process connects when nothing else is
// said: the embedded server of `rosey console`.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// Settings is what the flags and the environment say.
type Settings struct {
	Bus    eventbus.Config
	Config json.RawMessage
	// Manifest is the manifest file to check the plugin against, if any.
	Manifest string
	Logger   *slog.Logger // to stderr, at the level asked
}

// Parse reads args (the flags after the program name) and the
// environment (getenv, usually os.Getenv) for the plugin called name;
// inbox is the inbox prefix used unless one is given. -h returns
// flag.ErrHelp after printing the flags.
func Parse(name string, args []string, getenv func(string) string, inbox string) (Settings, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	url := fs.String("nats", env(NATSURL, DefaultNATSURL), "NATS server URL(s), comma-separated [$"+NATSURL+"]")
	user := fs.String("user", env(NATSUser, ""), "NATS user [$"+NATSUser+"]")
	password := fs.String("password", env(NATSPassword, ""), "NATS password [$"+NATSPassword+"]")
	token := fs.String("token", env(NATSToken, ""), "NATS token [$"+NATSToken+"]")
	creds := fs.String("creds", env(NATSCreds, ""), "NATS credentials file [$"+NATSCreds+"]")
	nkey := fs.String("nkey", env(NATSNKey, ""), "NATS nkey seed file [$"+NATSNKey+"]")
	prefix := fs.String("prefix", env(NATSPrefix, ""), "subject prefix shared with the bot [$"+NATSPrefix+"]")
	inboxFlag := fs.String("inbox-prefix", env(NATSInboxPrefix, inbox), "reply subject prefix of the plugin's own requests [$"+NATSInboxPrefix+"]")
	config := fs.String("config", env(PluginConfig, ""), "the plugin's config as JSON, or @file [$"+PluginConfig+"]")
	manifest := fs.String("manifest", env(PluginManifest, ""), "the plugin's manifest (rosey-plugin.json) to check its Info against [$"+PluginManifest+"]")
	level := fs.String("log-level", env(LogLevel, "info"), "log level: debug, info, warn, error [$"+LogLevel+"]")
	if err := fs.Parse(args); err != nil {
		return Settings{}, err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return Settings{}, fmt.Errorf("plugin %s: -log-level: %q is not debug, info, warn or error", name, *level)
	}
	raw := *config
	if file, ok := strings.CutPrefix(raw, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return Settings{}, fmt.Errorf("plugin %s: -config: %w", name, err)
		}
		raw = string(b)
	}
	if raw != "" && !json.Valid([]byte(raw)) {
		return Settings{}, fmt.Errorf("plugin %s: -config: not valid JSON", name)
	}
	return Settings{
		Bus: eventbus.Config{
			URLs: strings.Split(*url, ","), User: *user, Password: *password, Token: *token,
			CredentialsFile: *creds, NKeyFile: *nkey, Prefix: *prefix, InboxPrefix: *inboxFlag,
		},
		Config:   json.RawMessage(raw),
		Manifest: *manifest,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})),
	}, nil
}

// Env returns the environment variables that make a plugin process
// connect as bc says. TLS settings and the inbox prefix are not passed (a
// plugin derives its own prefix).
func Env(bc eventbus.Config) []string {
	var vars []string
	for _, kv := range [][2]string{
		{NATSURL, strings.Join(bc.URLs, ",")}, {NATSUser, bc.User}, {NATSPassword, bc.Password},
		{NATSToken, bc.Token}, {NATSCreds, bc.CredentialsFile}, {NATSNKey, bc.NKeyFile}, {NATSPrefix, bc.Prefix},
	} {
		if kv[1] != "" {
			vars = append(vars, kv[0]+"="+kv[1])
		}
	}
	return vars
}
