package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
)

// TestDirectoryNamesPluginsByPrefixedSubject: with a subject prefix the
// name still comes from the subject (bot1.platform.plugin.<name>.<state>),
// so a plugin announcing another's name under its own subject is ignored.
func TestDirectoryNamesPluginsByPrefixedSubject(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	prefixed := func(c *eventbus.Config) { c.Prefix = "bot1" }
	bus := connect(t, srv, "router", prefixed)
	m := startManager(t, bus, plugin.ManagerConfig{SweepInterval: time.Hour}, &probe{name: "victim"})
	dir := m.Directory()
	evil := connect(t, srv, "evil", prefixed)
	watcher := lifecycle(t, bus)

	ctx := context.Background()
	forged := plugin.Announcement{Info: plugin.Info{Name: "victim", Version: "6.6.6"}, Instance: "x", State: plugin.StateStarted}
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", forged))
	forged.State = plugin.StateStopped
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.stopped", forged))
	own := plugin.Announcement{Info: plugin.Info{Name: "evil", Version: "1.0.0", Commands: []plugin.Command{{Name: "victim-cmd"}, {Name: "evil-cmd"}}}, State: plugin.StateStarted}
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", own))
	for range 3 {
		receive(t, watcher)
	}
	eventually(t, "evil's own announcement", func() bool { _, _, ok := dir.Lookup("evil-cmd"); return ok })
	owner, _, ok := dir.Lookup("victim-cmd")
	is.True(ok)
	is.Equal(owner, "victim")
	e, ok := dir.Get("victim")
	is.True(ok)
	is.Equal(e.Info.Version, "1.0.0")
	is.Equal(len(e.Instances), 1)
	got, err := command(t, bus, "victim")
	is.NoErr(err)
	is.Equal(got, "victim ok")
}
