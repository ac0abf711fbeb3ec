package rosey_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/builtin"
)

// The README's library snippet with the channel left empty: Run says what
// to set instead of running a bot that can hear nothing.
func TestNoConnectorIsAConfigErrorNamingTheFix(t *testing.T) {
	is := is.New(t)
	cfg := rosey.Config{Plugins: builtin.All()}
	cfg.CyTube.Channel, cfg.CyTube.User = "", "MyBot"
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := rosey.New(cfg).Run(ctx)
	is.True(errors.Is(err, rosey.ErrConfig))
	for _, want := range []string{"no connector", "cytube.channel", "console.enabled", "components"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// A partial process says so: then no connector is what it wants.
	cfg.Components = rosey.CoreComponents()
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(ctx))
	is.NoErr(bot.Stop(ctx))
	// Naming the connector without a channel or console is the same error.
	cfg.Components = []string{rosey.ComponentConnector}
	err = rosey.New(cfg).Run(ctx)
	is.True(errors.Is(err, rosey.ErrConfig))
	is.True(strings.Contains(err.Error(), "cytube.channel"))
}

// `rosey run` with a file that has no channel fails at start, not after
// running forever unheard.
func TestConfigFileWithoutChannelFailsAtStart(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rosey.json")
	is.NoErr(os.WriteFile(path, []byte(`{"database": {"dir": "`+filepath.ToSlash(dir)+`"}, "nats": {"embedded": {"no_listen": true}}}`), 0o600))
	cfg, err := rosey.LoadConfig(path) // the program may still add a connector
	is.NoErr(err)
	cfg.Plugins = builtin.All()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = rosey.New(cfg).Run(ctx)
	is.True(errors.Is(err, rosey.ErrConfig))
	is.True(strings.Contains(err.Error(), "cytube.channel"))
}

func TestPluginNamesInConfigMustMatchAPlugin(t *testing.T) {
	for name, tc := range map[string]struct {
		json string
		want []string // all in the error; none means no error
	}{
		"section typo":   {`{"plugins": {"dice-roler": {"max_dice": 5}}}`, []string{`plugins: no plugin named "dice-roler"`, "dice-roller", "8ball", "external_plugins"}},
		"disabled typo":  {`{"disabled_plugins": ["8bal"]}`, []string{`disabled_plugins[0]: no plugin named "8bal"`, "8ball"}},
		"known":          {`{"plugins": {"dice-roller": {"max_dice": 5}}, "disabled_plugins": ["8ball"]}`, nil},
		"external":       {`{"external_plugins": ["weather"], "plugins": {"weather": {}}, "disabled_plugins": ["weather"]}`, nil},
		"external twice": {`{"external_plugins": ["trivia"]}`, []string{`external_plugins[0]: "trivia" also runs in this process`}},
		"external name":  {`{"external_plugins": ["no spaces"]}`, []string{"external_plugins[0]"}},
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "rosey.json")
			is.NoErr(os.WriteFile(path, []byte(tc.json), 0o600))
			cfg, err := rosey.LoadConfig(path)
			if err != nil { // checks that need no plugin list come first
				is.True(len(tc.want) > 0)
			} else {
				cfg.Plugins = builtin.All()
				cfg.Components = rosey.CoreComponents()
				err = cfg.Validate()
			}
			if len(tc.want) == 0 {
				is.NoErr(err)
				return
			}
			is.True(errors.Is(err, rosey.ErrConfig))
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// A process that runs no plugins does not judge the plugin sections of a
// config file it shares with the processes that do.
func TestPluginNamesNotCheckedWithoutPlugins(t *testing.T) {
	is := is.New(t)
	cfg := rosey.Config{Components: []string{rosey.ComponentRouter}}
	cfg.PluginConfig = map[string]json.RawMessage{"weather": json.RawMessage(`{}`)}
	is.NoErr(cfg.Validate())
}

// One rule for durations in every section: a string with a unit. A bare
// number is an error that shows how to write it, never nanoseconds in one
// place and seconds in another.
func TestDurationsAreStringsEverywhere(t *testing.T) {
	for name, tc := range map[string]struct {
		json, want string
	}{
		"router":   {`{"router": {"timeout": 5}}`, `router.timeout: 5 has no unit: write "5s"`},
		"hint":     {`{"router": {"hint_every": 60}}`, `write "60s"`},
		"cytube":   {`{"cytube": {"channel": "c", "user": "u", "backoff_min": 5}}`, `backoff_min: 5 has no unit: write "5s"`},
		"nats":     {`{"nats": {"request_timeout": 2.5}}`, `write "2.5s"`},
		"embedded": {`{"nats": {"embedded": {"ready_timeout": 10}}}`, `ready_timeout: 10 has no unit: write "10s"`},
		"database": {`{"database": {"busy_timeout": 5}}`, `busy_timeout: 5 has no unit`},
		"bad unit": {`{"router": {"timeout": "5 parsecs"}}`, `router.timeout`},
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			path := filepath.Join(t.TempDir(), "rosey.json")
			is.NoErr(os.WriteFile(path, []byte(tc.json), 0o600))
			_, err := rosey.LoadConfig(path)
			is.True(errors.Is(err, rosey.ErrConfig))
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rosey.json")
	is.NoErr(os.WriteFile(path, []byte(`{"router": {"timeout": "5s"}, "cytube": {"channel": "c", "user": "u", "backoff_min": "20ms"},
		"nats": {"request_timeout": "2s", "embedded": {"ready_timeout": "1m"}}, "database": {"busy_timeout": "3s", "reader_idle": "-1s"}}`), 0o600))
	cfg, err := rosey.LoadConfig(path)
	is.NoErr(err)
	is.Equal(time.Duration(cfg.Router.Timeout), 5*time.Second)
	is.Equal(cfg.CyTube.BackoffMin, 20*time.Millisecond)
	is.Equal(time.Duration(cfg.NATS.RequestTimeout), 2*time.Second)
	is.Equal(time.Duration(cfg.NATS.Embedded.ReadyTimeout), time.Minute)
	is.Equal(time.Duration(cfg.Database.BusyTimeout), 3*time.Second)
	is.Equal(time.Duration(cfg.Database.ReaderIdle), -time.Second)
}

// A plugin's own config section follows the same rule.
func TestPluginDurationIsAString(t *testing.T) {
	is := is.New(t)
	var d plugin.Duration
	is.NoErr(d.UnmarshalJSON([]byte(`"1m30s"`)))
	is.Equal(time.Duration(d), 90*time.Second)
	err := d.UnmarshalJSON([]byte(`30`))
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), `write "30s"`))
}

// Sections read by their own UnmarshalJSON refuse unknown fields too, and
// the console section keeps "enabled" next to the console's own fields.
func TestConnectorSectionsAreStrict(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rosey.json")
	for _, bad := range []string{
		`{"cytube": {"channel": "c", "user": "u", "chanel": "typo"}}`,
		`{"console": {"enabled": true, "usr": "typo"}}`,
	} {
		is.NoErr(os.WriteFile(path, []byte(bad), 0o600))
		_, err := rosey.LoadConfig(path)
		is.True(errors.Is(err, rosey.ErrConfig))
		is.True(strings.Contains(err.Error(), "unknown field"))
	}
	is.NoErr(os.WriteFile(path, []byte(`{"console": {"enabled": true, "user": "me", "rank": 0}}`), 0o600))
	cfg, err := rosey.LoadConfig(path)
	is.NoErr(err)
	is.True(cfg.Console.Enabled)
	is.Equal(cfg.Console.User, "me")
	is.True(cfg.Console.Guest) // "rank": 0 is a guest, as it always was
}
