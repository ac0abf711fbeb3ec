package plugin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
)

// failing is a plugin whose Start fails (or, with a bad name, whose Info
// is invalid).
type failing struct{ name string }

func (f failing) Info() plugin.Info                       { return plugin.Info{Name: f.name} }
func (failing) Start(context.Context, *plugin.Host) error { return errors.New("bad") }
func (failing) Stop(context.Context) error                { return nil }

func TestServeContextRefusesInvalidInfoAndUnreachableServer(t *testing.T) {
	is := is.New(t)
	err := plugin.ServeContext(context.Background(), failing{name: "no spaces please"}, plugin.ServeConfig{})
	is.True(errors.Is(err, plugin.ErrInvalidInfo))
	err = plugin.ServeContext(context.Background(), failing{name: "p"}, plugin.ServeConfig{})
	is.True(errors.Is(err, eventbus.ErrInvalidConfig)) // no URL, no server
}

func TestServeContextStartFailure(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	err := plugin.ServeContext(context.Background(), failing{name: "p"}, plugin.ServeConfig{Bus: srv.BusConfig("")})
	is.True(errors.Is(err, plugin.ErrStartFailed))
}

// TestServeChecksTheManifest: a plugin given a manifest (as the bot gives
// the plugins it installed) starts only when its Info says what the
// manifest says, so what the owner was shown is what runs.
func TestServeChecksTheManifest(t *testing.T) {
	srv := startServer(t)
	const info = `"name": "p", "version": "1.0.0", "description": "d", "commands": [{"name": "go", "usage": "<x>", "cooldown_ms": 1000}]`
	p := fixed{plugin.Info{Name: "p", Version: "1.0.0", Description: "d",
		Commands: []plugin.Command{{Name: "go", Usage: "<x>", Cooldown: time.Second}}}}
	for _, tc := range []struct {
		name, manifest string
		err            error
	}{
		{"same", `{` + info + `, "min_protocol": 1, "subjects": {"publish": []}}`, plugin.ErrStartFailed}, // checked, then started
		{"other version", `{"name": "p", "version": "2.0.0", "description": "d"}`, plugin.ErrManifestMismatch},
		{"other name", `{"name": "q", "version": "1.0.0"}`, plugin.ErrManifestMismatch},
		{"more commands", `{"name": "p", "version": "1.0.0", "description": "d", "commands": [{"name": "go", "usage": "<x>", "cooldown_ms": 1000}, {"name": "stop"}]}`, plugin.ErrManifestMismatch},
		{"other cooldown", `{"name": "p", "version": "1.0.0", "description": "d", "commands": [{"name": "go", "usage": "<x>"}]}`, plugin.ErrManifestMismatch},
		{"not JSON", `{`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			file := filepath.Join(t.TempDir(), "rosey-plugin.json")
			is.NoErr(os.WriteFile(file, []byte(tc.manifest), 0o644))
			err := plugin.ServeContext(context.Background(), p, plugin.ServeConfig{Bus: srv.BusConfig(""), Manifest: file})
			is.True(err != nil)
			if tc.err != nil {
				is.True(errors.Is(err, tc.err))
			} else {
				is.True(!errors.Is(err, plugin.ErrStartFailed)) // refused before starting
			}
		})
	}
}

// fixed is a plugin with a given Info whose Start fails, so a served one
// ends at once.
type fixed struct{ info plugin.Info }

func (f fixed) Info() plugin.Info                       { return f.info }
func (fixed) Start(context.Context, *plugin.Host) error { return errors.New("started") }
func (fixed) Stop(context.Context) error                { return nil }
