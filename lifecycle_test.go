package rosey_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/builtin"
	"github.com/roseybot/rosey/protocol"
)

func TestStopLeavesNoGoroutines(t *testing.T) {
	is := is.New(t)
	settle := func(want int) int {
		deadline := time.Now().Add(10 * time.Second)
		n := runtime.NumGoroutine()
		for n > want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	before := runtime.NumGoroutine()
	in, inW := io.Pipe()
	cfg := rosey.Config{Plugins: append(builtin.All(), &echo{})}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	cfg.Console.Enabled = true
	cfg.Console.In, cfg.Console.Out = in, io.Discard
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	_, err := io.WriteString(inW, "!echo hi\n!roll 2d6\n!trivia start 1\n")
	is.NoErr(err)
	is.NoErr(inW.Close())
	is.NoErr(bot.Stop(context.Background()))
	is.NoErr(bot.Stop(context.Background())) // a second Stop is harmless
	after := settle(before)
	if after > before {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("%d goroutines before, %d after Stop:\n%s", before, after, buf[:n])
	}
}

func TestStartOrderAndPlatformEvents(t *testing.T) {
	is := is.New(t)
	cfg := rosey.Config{Plugins: []plugin.Plugin{&echo{}}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.Database.Dir = t.TempDir()
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	url := bot.NATSURL()
	is.True(strings.HasPrefix(url, "nats://127.0.0.1:"))

	// Another process's view: an external client sees platform.shutdown.
	watcher, err := eventbus.Connect(context.Background(), bot.ClientConfig())
	is.NoErr(err)
	defer watcher.Close(context.Background())
	got := make(chan protocol.PlatformEvent, 1)
	_, err = watcher.Subscribe(protocol.Shutdown, func(_ context.Context, ev *eventbus.Event) {
		var p protocol.PlatformEvent
		if ev.Decode(&p) == nil {
			got <- p
		}
	})
	is.NoErr(err)
	is.NoErr(watcher.Flush(context.Background()))
	is.NoErr(bot.Stop(context.Background()))
	select {
	case p := <-got:
		is.Equal(p.Version, rosey.Version)
		is.Equal(p.Components, []string{"eventbus", "database", "plugins", "router"})
	case <-time.After(10 * time.Second):
		t.Fatal("no platform.shutdown")
	}
}

func TestFailedStartStopsWhatStarted(t *testing.T) {
	is := is.New(t)
	// A file where the data directory should be makes the database fail
	// after the bus started; the bus must be shut down again.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	is.NoErr(os.WriteFile(file, []byte("x"), 0o600))
	cfg := rosey.Config{Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.Database.Dir = file
	cfg.NATS.Embedded.SeedFile = filepath.Join(t.TempDir(), "nats.nkey") // not in that "directory"
	bot := rosey.New(cfg)
	err := bot.Start(context.Background())
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "start database"))
	is.Equal(bot.Bus(), nil) // the bus was stopped again
}

func TestConfigValidationNamesTheField(t *testing.T) {
	for name, tc := range map[string]struct {
		json string
		want string
	}{
		"prefix":     {`{"router": {"prefix": "a b"}}`, "router: invalid config: prefix"},
		"timeout":    {`{"router": {"timeout": "soon"}}`, "timeout"},
		"unknown":    {`{"routr": {}}`, `unknown field "routr"`},
		"channel":    {`{"cytube": {"channel": "bad name", "user": "bot"}}`, "channel"},
		"component":  {`{"components": ["web"]}`, `components[0]: unknown component "web"`},
		"nats token": {`{"nats": {"urls": ["nats://x:4222"], "token": "t", "user": "u"}}`, "token"},
		"database":   {`{"database": {"dir": "d", "url": "postgres://x"}}`, "database"},
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			path := filepath.Join(t.TempDir(), "rosey.json")
			is.NoErr(os.WriteFile(path, []byte(tc.json), 0o600))
			_, err := rosey.LoadConfig(path)
			is.True(errors.Is(err, rosey.ErrConfig))
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigAndEnvironment(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "rosey.json")
	is.NoErr(os.WriteFile(path, []byte(`{
		"cytube": {"channel": "mychannel", "user": "MyBot"},
		"router": {"prefix": "?", "admins": ["me"], "timeout": "2s"},
		"plugins": {"dice-roller": {"default": "2d6"}}
	}`), 0o600))
	t.Setenv("ROSEY_CYTUBE_PASSWORD", "s3cret")
	t.Setenv("ROSEY_DATABASE_URL", "postgres://rosey@db/rosey")
	cfg, err := rosey.LoadConfig(path)
	is.NoErr(err)
	is.Equal(cfg.CyTube.Password, "s3cret")
	is.Equal(cfg.Database.URL, "postgres://rosey@db/rosey")
	is.Equal(cfg.Database.Dir, "")
	is.Equal(cfg.Router.Prefix, "?")
	is.Equal(time.Duration(cfg.Router.Timeout), 2*time.Second)
	is.Equal(string(cfg.PluginConfig["dice-roller"]), `{"default": "2d6"}`)
}

func TestPluginReloadRereadsConfigFile(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rosey.json")
	write := func(greeting string) {
		is.NoErr(os.WriteFile(path, []byte(`{"database": {"dir": "`+filepath.ToSlash(dir)+`"}, "plugins": {"greeter": {"greeting": "`+greeting+`"}}}`), 0o600))
	}
	write("hello")
	cfg, err := rosey.LoadConfig(path)
	is.NoErr(err)
	cfg.NATS.Embedded.NoListen = true
	cfg.Plugins = []plugin.Plugin{&greeter{}}
	cfg.Components = rosey.CoreComponents()
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())
	ask := func() string {
		ev, err := bot.Bus().Request(context.Background(), protocol.PluginCommand("greeter"), plugin.Request{Command: "greet", User: "alice"})
		is.NoErr(err)
		var r plugin.Response
		is.NoErr(ev.Decode(&r))
		return r.Result
	}
	is.Equal(ask(), "hello alice")
	write("howdy")
	is.NoErr(bot.Plugins().Reload(context.Background(), "greeter"))
	is.Equal(ask(), "howdy alice")
}

type greeter struct{ greeting string }

func (g *greeter) Info() plugin.Info {
	return plugin.Info{Name: "greeter", Version: "1.0.0", Commands: []plugin.Command{{Name: "greet"}}}
}
func (g *greeter) Start(_ context.Context, h *plugin.Host) error {
	var cfg struct {
		Greeting string `json:"greeting"`
	}
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	h.Handle("greet", func(_ context.Context, r *plugin.Request) (string, error) { return cfg.Greeting + " " + r.User, nil })
	return nil
}
func (g *greeter) Stop(context.Context) error { return nil }

func TestOnBusSeesEverythingFromTheStart(t *testing.T) {
	is := is.New(t)
	seen := make(chan string, 64)
	cfg := rosey.Config{Plugins: []plugin.Plugin{&echo{}}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	cfg.OnBus = func(_ context.Context, bus *eventbus.Bus) error {
		_, err := bus.Subscribe("platform.>", func(_ context.Context, ev *eventbus.Event) { seen <- ev.Subject })
		return err
	}
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())
	// The plugin's own start announcement comes before platform.startup.
	want := []string{protocol.PluginState("echo", plugin.StateStarted), protocol.Startup}
	for len(want) > 0 {
		select {
		case s := <-seen:
			if s == want[0] {
				want = want[1:]
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("OnBus subscriber never saw %v", want)
		}
	}
}

func TestOnBusErrorStopsStart(t *testing.T) {
	is := is.New(t)
	boom := errors.New("boom")
	cfg := rosey.Config{OnBus: func(context.Context, *eventbus.Bus) error { return boom }, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	bot := rosey.New(cfg)
	err := bot.Start(context.Background())
	is.True(errors.Is(err, boom))
	is.Equal(bot.Bus(), nil)
}
