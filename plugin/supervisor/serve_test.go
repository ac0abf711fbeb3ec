package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
)

// refresh refreshes dir until cond holds, failing after wait.
func refresh(t *testing.T, dir *supervisor.Directory, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if err := dir.Refresh(context.Background(), 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("directory did not get there within %s: %+v", wait, dir.Plugins())
		}
	}
}

func TestDirectoryRefreshFindsAndForgetsExternalPlugins(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "router")
	events := lifecycle(t, bus)
	// Started before the directory exists: only discovery can find it.
	stop := serve(t, srv, &probe{name: "remote"})
	is.Equal(receive(t, events), "platform.plugin.remote.started")

	dir := supervisor.NewDirectory(bus) // not started: Refresh is its only source
	_, _, ok := dir.Lookup("remote-cmd")
	is.True(!ok)
	refresh(t, dir, func() bool { _, _, ok := dir.Lookup("remote-cmd"); return ok })
	name, cmd, ok := dir.Lookup("REMOTE-CMD")
	is.True(ok)
	is.Equal(name, "remote")
	is.Equal(cmd.Name, "remote-cmd")
	e, ok := dir.Get("remote")
	is.True(ok)
	is.True(!e.Local)
	is.Equal(len(e.Instances), 1)

	is.NoErr(stop())
	refresh(t, dir, func() bool { _, ok := dir.Get("remote"); return !ok })
	_, _, ok = dir.Lookup("remote-cmd")
	is.True(!ok)
}

func TestDirectoryFollowsAnnouncements(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "router")
	dir := supervisor.NewDirectory(bus)
	is.NoErr(dir.Start(context.Background(), time.Hour))
	defer dir.Stop()
	watcher := lifecycle(t, bus)
	instances := func(n int) func() bool {
		return func() bool { e, ok := dir.Get("copy"); return len(e.Instances) == n && ok == (n > 0) }
	}

	stop1 := serve(t, srv, &probe{name: "copy"})
	is.Equal(receive(t, watcher), "platform.plugin.copy.started")
	stop2 := serve(t, srv, &probe{name: "copy"}) // a second copy sharing the load
	is.Equal(receive(t, watcher), "platform.plugin.copy.started")
	eventually(t, "two instances", instances(2))

	is.NoErr(stop1())
	eventually(t, "one instance left", instances(1))
	_, _, ok := dir.Lookup("copy-cmd") // one copy still answers
	is.True(ok)
	is.NoErr(stop2())
	eventually(t, "plugin forgotten", instances(0))
	for range 2 {
		receive(t, watcher) // the two stopped events
	}

	// Garbage on the lifecycle subjects is ignored.
	is.NoErr(bus.Conn().Publish("platform.plugin.x.started", []byte(`{"name": "bad name!"}`)))
	is.NoErr(bus.Conn().Publish("platform.plugin.y.started", []byte(`not json`)))
	is.NoErr(bus.Publish(context.Background(), "platform.plugin.z.started", plugin.Announcement{Info: plugin.Info{Name: "z", Version: "1.0.0"}, State: "started"}))
	is.Equal(receive(t, watcher), "platform.plugin.x.started")
	is.Equal(receive(t, watcher), "platform.plugin.y.started")
	is.Equal(receive(t, watcher), "platform.plugin.z.started")
	// The directory handles them in order on its own subscription: once z
	// is in, x and y were seen and dropped.
	eventually(t, "z added", func() bool { _, ok := dir.Get("z"); return ok })
	names := []string{}
	for _, e := range dir.Plugins() {
		names = append(names, e.Info.Name)
	}
	is.Equal(names, []string{"z"})
}

func TestManagerSeesExternalPlugins(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{SweepInterval: time.Hour}, &probe{name: "local"})
	watcher := lifecycle(t, bus)
	serve(t, srv, &probe{name: "outside"})
	is.Equal(receive(t, watcher), "platform.plugin.outside.started")
	eventually(t, "outside listed", func() bool { return len(m.Status()) == 2 })
	st := map[string]supervisor.Status{}
	for _, s := range m.Status() {
		st[s.Info.Name] = s
	}
	is.True(st["outside"].External)
	is.True(!st["outside"].Managed)
	is.Equal(st["outside"].State, plugin.StateStarted)
	is.True(!st["local"].External)
	// The manager cannot stop what it does not run.
	is.True(errors.Is(m.StopPlugin(context.Background(), "outside"), supervisor.ErrUnknownPlugin))
}
