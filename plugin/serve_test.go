package plugin_test

import (
	"context"
	"errors"
	"testing"

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
