package pluginenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/pluginenv"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("defaults", func(t *testing.T) {
		is := is.New(t)
		cfg, err := pluginenv.Parse("p", nil, env(nil), "_INBOX.plugin.p")
		is.NoErr(err)
		is.Equal(cfg.Bus.URLs, []string{pluginenv.DefaultNATSURL})
		is.Equal(cfg.Bus.InboxPrefix, "_INBOX.plugin.p") // its own replies only
		is.Equal(len(cfg.Config), 0)
		is.True(cfg.Logger != nil)
	})
	t.Run("environment", func(t *testing.T) {
		is := is.New(t)
		cfg, err := pluginenv.Parse("p", nil, env(map[string]string{
			pluginenv.NATSURL:         "nats://a:4222,nats://b:4222",
			pluginenv.NATSUser:        "u",
			pluginenv.NATSPassword:    "pw",
			pluginenv.NATSPrefix:      "bot1",
			pluginenv.NATSInboxPrefix: "_INBOX_p",
			pluginenv.PluginConfig:    `{"x": 1}`,
			pluginenv.LogLevel:        "debug",
		}), "_INBOX.plugin.p")
		is.NoErr(err)
		is.Equal(cfg.Bus.URLs, []string{"nats://a:4222", "nats://b:4222"})
		is.Equal(cfg.Bus.User, "u")
		is.Equal(cfg.Bus.Password, "pw")
		is.Equal(cfg.Bus.Prefix, "bot1")
		is.Equal(cfg.Bus.InboxPrefix, "_INBOX_p")
		is.Equal(string(cfg.Config), `{"x": 1}`)
		is.True(cfg.Logger.Enabled(context.Background(), -4)) // debug
	})
	t.Run("flags win over environment", func(t *testing.T) {
		is := is.New(t)
		cfg, err := pluginenv.Parse("p",
			[]string{"-nats", "nats://flag:4222", "-token", "tok", "-creds", "c.creds", "-config", `{"y": 2}`, "-log-level", "error"},
			env(map[string]string{pluginenv.NATSURL: "nats://env:4222", pluginenv.PluginConfig: `{"x": 1}`}), "_INBOX.plugin.p")
		is.NoErr(err)
		is.Equal(cfg.Bus.URLs, []string{"nats://flag:4222"})
		is.Equal(cfg.Bus.Token, "tok")
		is.Equal(cfg.Bus.CredentialsFile, "c.creds")
		is.Equal(string(cfg.Config), `{"y": 2}`)
		is.True(!cfg.Logger.Enabled(context.Background(), 4)) // warn is below error
	})
	t.Run("config from a file", func(t *testing.T) {
		is := is.New(t)
		path := filepath.Join(t.TempDir(), "p.json")
		is.NoErr(os.WriteFile(path, []byte(`{"from": "file"}`), 0o600))
		cfg, err := pluginenv.Parse("p", []string{"-config", "@" + path}, env(nil), "_INBOX.plugin.p")
		is.NoErr(err)
		is.Equal(string(cfg.Config), `{"from": "file"}`)
		cfg, err = pluginenv.Parse("p", nil, env(map[string]string{pluginenv.PluginConfig: "@" + path}), "_INBOX.plugin.p")
		is.NoErr(err)
		is.Equal(string(cfg.Config), `{"from": "file"}`)
	})
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"bad json":      {[]string{"-config", `{"x": `}, nil, "-config: not valid JSON"},
		"bad json env":  {nil, map[string]string{pluginenv.PluginConfig: `nope`}, "-config: not valid JSON"},
		"missing file":  {[]string{"-config", "@/does/not/exist.json"}, nil, "-config"},
		"bad log level": {[]string{"-log-level", "loud"}, nil, "-log-level"},
		"unknown flag":  {[]string{"-frobnicate"}, nil, "frobnicate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pluginenv.Parse("p", tc.args, env(tc.env), "_INBOX.plugin.p")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	t.Run("bad json in file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(path, []byte(`{broken`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := pluginenv.Parse("p", []string{"-config", "@" + path}, env(nil), "_INBOX.plugin.p")
		if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Fatalf("error %v", err)
		}
	})
}

// What Env writes, Parse reads back: how a supervisor's plugin process
// finds the bot.
func TestEnvRoundTrip(t *testing.T) {
	is := is.New(t)
	vars := map[string]string{}
	for _, kv := range pluginenv.Env(eventbusConfig()) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	set, err := pluginenv.Parse("p", nil, func(k string) string { return vars[k] }, "_INBOX.plugin.p")
	is.NoErr(err)
	is.Equal(set.Bus.URLs, []string{"nats://a:1", "nats://b:2"})
	is.Equal(set.Bus.NKeyFile, "/k.nk")
	is.Equal(set.Bus.Prefix, "bot1")
	is.Equal(set.Bus.InboxPrefix, "_INBOX.plugin.p") // never passed: the plugin's own
	_, hasUser := vars[pluginenv.NATSUser]
	is.True(!hasUser) // empty settings are not written
}

func eventbusConfig() eventbus.Config {
	return eventbus.Config{URLs: []string{"nats://a:1", "nats://b:2"}, NKeyFile: "/k.nk", Prefix: "bot1", InboxPrefix: "_INBOX.router"}
}
