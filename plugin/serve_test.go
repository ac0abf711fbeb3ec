package plugin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
)

// refresh refreshes dir until cond holds, failing after wait.
func refresh(t *testing.T, dir *plugin.Directory, cond func() bool) {
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

	dir := plugin.NewDirectory(bus) // not started: Refresh is its only source
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
	dir := plugin.NewDirectory(bus)
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
	m := startManager(t, bus, plugin.ManagerConfig{SweepInterval: time.Hour}, &probe{name: "local"})
	watcher := lifecycle(t, bus)
	serve(t, srv, &probe{name: "outside"})
	is.Equal(receive(t, watcher), "platform.plugin.outside.started")
	eventually(t, "outside listed", func() bool { return len(m.Status()) == 2 })
	st := map[string]plugin.Status{}
	for _, s := range m.Status() {
		st[s.Info.Name] = s
	}
	is.True(st["outside"].External)
	is.True(!st["outside"].Managed)
	is.Equal(st["outside"].State, plugin.StateStarted)
	is.True(!st["local"].External)
	// The manager cannot stop what it does not run.
	is.True(errors.Is(m.StopPlugin(context.Background(), "outside"), plugin.ErrUnknownPlugin))
}

func TestServeContextRefusesInvalidInfoAndUnreachableServer(t *testing.T) {
	is := is.New(t)
	err := plugin.ServeContext(context.Background(), fixedInfo{plugin.Info{Name: "no spaces please"}}, plugin.ServeConfig{})
	is.True(errors.Is(err, plugin.ErrInvalidInfo))
	err = plugin.ServeContext(context.Background(), &probe{name: "p"}, plugin.ServeConfig{})
	is.True(errors.Is(err, eventbus.ErrInvalidConfig)) // no URL, no server
}

func TestServeContextStartFailure(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	err := plugin.ServeContext(context.Background(), &probe{name: "p", failWith: errors.New("bad")}, plugin.ServeConfig{Bus: srv.BusConfig("")})
	is.True(errors.Is(err, plugin.ErrStartFailed))
}

func TestServeConfigFromArgs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("defaults", func(t *testing.T) {
		is := is.New(t)
		cfg, err := plugin.ServeConfigFromArgs("p", nil, env(nil))
		is.NoErr(err)
		is.Equal(cfg.Bus.URLs, []string{plugin.DefaultNATSURL})
		is.Equal(cfg.Bus.InboxPrefix, "_INBOX.plugin.p") // its own replies only
		is.Equal(len(cfg.Config), 0)
		is.True(cfg.Logger != nil)
	})
	t.Run("environment", func(t *testing.T) {
		is := is.New(t)
		cfg, err := plugin.ServeConfigFromArgs("p", nil, env(map[string]string{
			plugin.EnvNATSURL:         "nats://a:4222,nats://b:4222",
			plugin.EnvNATSUser:        "u",
			plugin.EnvNATSPassword:    "pw",
			plugin.EnvNATSPrefix:      "bot1",
			plugin.EnvNATSInboxPrefix: "_INBOX_p",
			plugin.EnvPluginConfig:    `{"x": 1}`,
			plugin.EnvLogLevel:        "debug",
		}))
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
		cfg, err := plugin.ServeConfigFromArgs("p",
			[]string{"-nats", "nats://flag:4222", "-token", "tok", "-creds", "c.creds", "-config", `{"y": 2}`, "-log-level", "error"},
			env(map[string]string{plugin.EnvNATSURL: "nats://env:4222", plugin.EnvPluginConfig: `{"x": 1}`}))
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
		cfg, err := plugin.ServeConfigFromArgs("p", []string{"-config", "@" + path}, env(nil))
		is.NoErr(err)
		is.Equal(string(cfg.Config), `{"from": "file"}`)
		cfg, err = plugin.ServeConfigFromArgs("p", nil, env(map[string]string{plugin.EnvPluginConfig: "@" + path}))
		is.NoErr(err)
		is.Equal(string(cfg.Config), `{"from": "file"}`)
	})
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"bad json":      {[]string{"-config", `{"x": `}, nil, "-config: not valid JSON"},
		"bad json env":  {nil, map[string]string{plugin.EnvPluginConfig: `nope`}, "-config: not valid JSON"},
		"missing file":  {[]string{"-config", "@/does/not/exist.json"}, nil, "-config"},
		"bad log level": {[]string{"-log-level", "loud"}, nil, "-log-level"},
		"unknown flag":  {[]string{"-frobnicate"}, nil, "frobnicate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := plugin.ServeConfigFromArgs("p", tc.args, env(tc.env))
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
		_, err := plugin.ServeConfigFromArgs("p", []string{"-config", "@" + path}, env(nil))
		if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Fatalf("error %v", err)
		}
	})
}
