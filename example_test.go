package rosey_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// shout is a tiny plugin: !shout <text> answers the text in capitals.
type shout struct{}

func (shout) Info() plugin.Info {
	return plugin.Info{Name: "shout", Version: "1.0.0", Description: "Says it louder",
		Commands: []plugin.Command{{Name: "shout", Usage: "<text>", Aliases: []string{"yell"}}}}
}

func (shout) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("shout", func(_ context.Context, req *plugin.Request) (string, error) {
		if req.Text == "" {
			return "", plugin.Usage(shout{}.Info().Commands[0])
		}
		return strings.ToUpper(req.Text) + "!", nil
	})
	return nil
}

func (shout) Stop(context.Context) error { return nil }

// New assembles a bot; Start brings up the embedded NATS server, the
// plugin manager and the router (no connector: CoreComponents says the
// bot is driven through its bus), and Stop takes them down again.
func ExampleNew() {
	ctx := context.Background()
	cfg := rosey.Config{Plugins: []plugin.Plugin{shout{}}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true // no socket: in-process only
	cfg.Database.Disabled = true      // no SQLite for this example
	bot := rosey.New(cfg)
	if err := bot.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Stop(ctx)

	for _, s := range bot.Plugins().Status() {
		fmt.Println(s.Info.Name, s.State)
	}
	// Every component talks over NATS: ask the plugin directly.
	ev, err := bot.Bus().Request(ctx, protocol.PluginCommand("shout"), plugin.Request{Command: "shout", Text: "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var rep plugin.Response
	_ = ev.Decode(&rep)
	fmt.Println(rep.Result)
	// Output:
	// shout started
	// HELLO!
}

// Run a bot against the console connector: each input line is said in chat
// by the console user, and the bot's answers are printed. Run returns once
// the input has ended and the last answers are out.
func ExampleBot_Run() {
	cfg := rosey.Config{Plugins: []plugin.Plugin{shout{}}}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Disabled = true
	cfg.Console.Enabled = true
	cfg.Console.In = strings.NewReader("!shout hello world\n!YELL again\n!shout\n")
	cfg.Console.Out = os.Stdout
	if err := rosey.New(cfg).Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rosey> HELLO WORLD!
	// rosey> AGAIN!
	// rosey> ❌ Usage: !shout <text>
}

// Middleware wraps the commands of every in-process plugin: here a check
// that keeps one user out, and a deadline on every command.
func ExampleConfig_middleware() {
	bench := func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			if strings.EqualFold(req.User, "troll") {
				return "", plugin.UserError("⛔ Not for you, %s.", req.User)
			}
			return next(ctx, req)
		}
	}
	cfg := rosey.Config{Plugins: []plugin.Plugin{shout{}}}
	cfg.Middleware = []plugin.Middleware{bench, plugin.Timeout(2 * time.Second)}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Disabled = true
	cfg.Console.Enabled = true
	cfg.Console.User = "troll"
	cfg.Console.In = strings.NewReader("!shout hello\n")
	cfg.Console.Out = os.Stdout
	if err := rosey.New(cfg).Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rosey> ⛔ Not for you, troll.
}

// OnBus runs before any component starts, so a subscription made there
// sees everything: here, an audit of the plugins' lifecycle and the
// platform events, in the order they happened.
func ExampleConfig_onBus() {
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	cfg := rosey.Config{Plugins: []plugin.Plugin{shout{}}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Disabled = true
	cfg.OnBus = func(_ context.Context, bus *eventbus.Bus) error {
		_, err := bus.Subscribe("platform.>", func(_ context.Context, ev *eventbus.Event) {
			mu.Lock()
			seen = append(seen, ev.Subject)
			mu.Unlock()
		})
		return err
	}
	bot := rosey.New(cfg)
	if err := bot.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	_ = bot.Stop(ctx) // drains the bus: every event has been handled
	for _, s := range seen {
		fmt.Println(s)
	}
	// Output:
	// platform.plugin.shout.started
	// platform.startup
	// platform.shutdown
	// platform.plugin.shout.stopped
}

// LoadConfig reads a JSON file, fills secrets from the environment and
// validates, naming the field at fault.
func ExampleLoadConfig() {
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rosey.json")
	_ = os.WriteFile(path, []byte(`{"router": {"prefix": "?", "timeout": "2s"}, "plugins": {"shout": {"loud": true}}}`), 0o600)
	cfg, err := rosey.LoadConfig(path)
	fmt.Println(cfg.Router.Prefix, time.Duration(cfg.Router.Timeout), string(cfg.PluginConfig["shout"]), err)

	_ = os.WriteFile(path, []byte(`{"router": {"prefix": "a b"}}`), 0o600)
	_, err = rosey.LoadConfig(path)
	fmt.Println(err)
	// Output:
	// ? 2s {"loud": true} <nil>
	// rosey: invalid config: router: invalid config: prefix: "a b" must be 1-8 characters without spaces
}
