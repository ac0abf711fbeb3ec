package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/internal/markettest"
	"github.com/roseybot/rosey/internal/proctest"
)

var (
	fixtureOnce sync.Once
	fixture     *markettest.Fixture
	fixtureErr  error
)

// marketFixture builds the offline Go proxy and npm registry once and
// points this process's environment (so every rosey it starts, and their
// go and npm) at them.
func marketFixture(t *testing.T) *markettest.Fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rosey-market-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixture, fixtureErr = markettest.NewFixture(dir)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	for _, kv := range fixture.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return fixture
}

// marketConfig writes a bot config naming the fixture's catalogue.
func marketConfig(t *testing.T, f *markettest.Fixture) (cfgFile, data string) {
	t.Helper()
	data = t.TempDir()
	b, _ := json.Marshal(map[string]any{"marketplace": map[string]any{"catalogues": []string{f.Catalogue}}})
	cfgFile = filepath.Join(t.TempDir(), "rosey.json")
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgFile, data
}

// runRosey runs the binary to its end and returns what it printed.
func runRosey(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRosey(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := runRosey(t, stdin, args...)
	if err != nil {
		t.Fatalf("rosey %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestFromSearchToARunningPlugin is the marketplace's promise: a new user
// finds a plugin in the catalogue shipped with Rosey with one command,
// has it running in a bot with a second (here the console, answering the
// permissions prompt), under a NATS user that may use its own subjects
// only, and backs out with one. (The Go proxy on disk holds this
// repository's module as the version the shipped catalogue names.)
func TestFromSearchToARunningPlugin(t *testing.T) {
	is := is.New(t)
	marketFixture(t)
	data := t.TempDir()
	t.Setenv("ROSEY_CYTUBE_PASSWORD", "the-bots-secret") // the bot's environment is not the plugin's

	out := mustRosey(t, "", "plugin", "search", "dice", "-data", data)
	is.True(strings.Contains(out, "dice-duel"))
	is.True(strings.Contains(out, "rosey plugin install dice-duel"))

	p := start(t, "console", "-install-plugin", "dice-duel", "-data", data,
		"-nats-listen", "127.0.0.1:0", "-http", "none", "-log-level", "info")
	n, _ := p.Wait(0, `It will run as its own process, under a NATS user of its own`)
	p.Say("y") // to "Install dice-duel? [y/N]"
	n, _ = p.Wait(n, `✅ Installed dice-duel 1.0.0`)
	_, pid := p.Wait(n, `msg="plugin process started" plugin=dice-duel pid=(\d+)`)
	n, m := p.Wait(n, `External plugins connect with ROSEY_NATS_URL=(\S+)`)
	url := m[1]
	p.Say("!duel Bob")
	n, _ = p.Wait(n, `rosey> 🎲 you rolled \d+ \(\d\+\d\), Bob rolled \d+`)
	p.Say("!admin plugins")
	n, _ = p.Wait(n, `rosey.*> .*dice-duel 1\.0\.0 installed ×1`)

	// Its NATS user: the seed the bot hands the process, and nothing else
	// of the bot's.
	seed := filepath.Join(data, "plugins", "dice-duel", "nats.nkey")
	if env, err := os.ReadFile("/proc/" + pid[1] + "/environ"); err == nil {
		vars := strings.Split(string(env), "\x00")
		is.True(slices.Contains(vars, "ROSEY_NATS_NKEY="+seed))
		is.True(slices.ContainsFunc(vars, func(v string) bool { return strings.HasPrefix(v, "ROSEY_PLUGIN_MANIFEST=") }))
		is.True(!strings.Contains(string(env), "the-bots-secret"))
		is.True(!strings.Contains(string(env), filepath.Join(data, "nats.nkey")))
	} else if runtime.GOOS == "linux" {
		t.Fatal(err)
	}
	refusedAsPlugin(t, url, seed, "dice-duel")
	out = mustRosey(t, "", "plugin", "info", "dice-duel", "-data", data)
	is.True(strings.Contains(out, "dice-duel 1.0.0: Dice duels"))
	is.True(strings.Contains(out, "source: github.com/roseybot/rosey/examples/dice-duel@v0.1.0 (catalogue entry dice-duel)"))
	is.True(strings.Contains(out, "subscribe: plugin.dice-duel.> $SRV.PING"))
	out = mustRosey(t, "", "plugin", "list", "-data", data)
	is.True(strings.Contains(out, "dice-duel  1.0.0    github.com/roseybot/rosey/examples/dice-duel@v0.1.0"))

	// One command backs out: the process stops, its user goes.
	out = mustRosey(t, "", "plugin", "remove", "dice-duel", "-data", data)
	is.True(strings.Contains(out, "Removed dice-duel"))
	waitAnswer(t, p, &n, "!admin plugins", `rosey.*> 🔌 \d+ plugins: `, "dice-duel")
	_, err := os.Stat(seed)
	is.True(errors.Is(err, os.ErrNotExist))

	is.NoErr(p.Cmd.Process.Signal(syscall.SIGTERM))
	<-p.Done
}

// TestUpgradeWhileRunning installs a Go plugin by module path into a
// running bot, upgrades it (the bot switches without a restart), tries an
// upgrade that does not build (the bot keeps the version it had), and is
// refused what the marketplace refuses.
func TestUpgradeWhileRunning(t *testing.T) {
	is := is.New(t)
	f := marketFixture(t)
	cfg, data := marketConfig(t, f)
	p := start(t, "console", "-config", cfg, "-data", data, "-nats-listen", "127.0.0.1:0", "-http", "none", "-log-level", "info")
	n, m := p.Wait(0, `External plugins connect with ROSEY_NATS_URL=(\S+)`)
	url := m[1]

	out := mustRosey(t, "", "plugin", "install", markettest.DiceModule+"@v1.0.0", "-yes", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "✅ Installed dice-duel 1.0.0"))
	waitAnswer(t, p, &n, "!duel", `rosey> 🎲 you rolled`, "")

	// v1.1.0 asks for more (speaking on its own): the owner is asked again.
	seed := filepath.Join(data, "plugins", "dice-duel", "nats.nkey")
	out, err := runRosey(t, "n\n", "plugin", "upgrade", "dice-duel@v1.1.0", "-config", cfg, "-data", data)
	is.True(err != nil)
	is.True(strings.Contains(out, "say things in the channel's chat on its own (cytube.send.chat)"))
	is.True(strings.Contains(out, "dice-duel stays at v1.0.0"))
	speak(t, url, seed, false)
	out = mustRosey(t, "y\n", "plugin", "upgrade", "dice-duel@v1.1.0", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "Upgraded dice-duel to v1.1.0"))
	waitAnswer(t, p, &n, "!admin plugins", `rosey.*> .*dice-duel 1\.1\.0 installed ×1`, "")
	speak(t, url, seed, true) // its NATS user has the new grant
	n, _ = p.Wait(n, `rosey> a line from dice-duel`)

	out, err = runRosey(t, "", "plugin", "upgrade", "dice-duel@v1.2.0", "-config", cfg, "-data", data)
	is.True(err != nil)
	is.True(strings.Contains(out, "dice-duel stays at v1.1.0"))
	is.True(strings.Contains(out, "undefinedThing")) // the build's output
	p.Say("!admin plugins")
	n, _ = p.Wait(n, `rosey.*> .*dice-duel 1\.1\.0 installed ×1`)
	p.Say("!duel")
	n, _ = p.Wait(n, `rosey> 🎲 you rolled`)

	// A bot whose NATS server does not listen cannot run them, and says so.
	other := filepath.Join(t.TempDir(), "rosey.json")
	b, _ := json.Marshal(map[string]any{"marketplace": map[string]any{"dir": filepath.Join(data, "plugins")}})
	is.NoErr(os.WriteFile(other, b, 0o644))
	closed := start(t, "console", "-config", other, "-data", t.TempDir(), "-nats-listen", "none", "-http", "none", "-log-level", "info")
	closed.Wait(0, `installed plugins are not started: they need the bot's NATS server to listen`)
	closed.Wait(0, `Rosey .* console`)
	is.NoErr(closed.Stdin.Close())
	<-closed.Done

	for _, tc := range []struct{ args, says string }{
		{"install no-such-plugin", `"no-such-plugin" is in no catalogue`},
		{"install greeter@v9.9.9", "greeter has no version v9.9.9 (the catalogue lists v0.1.0)"},
		{"install future-dice", "future-dice needs Rosey protocol 99; this Rosey speaks 1"},
		{"install " + markettest.DiceModule + "@v1.1.0", "dice-duel is already installed"},
		{"install dice-roller", "dice-roller is the name of a plugin built into Rosey"},
		{"remove nothing-installed", `no installed plugin "nothing-installed"`},
	} {
		out, err := runRosey(t, "", append(strings.Fields("plugin "+tc.args), "-yes", "-config", cfg, "-data", data)...)
		if err == nil || !strings.Contains(out, tc.says) {
			t.Errorf("rosey plugin %s: %v, %q does not say %q", tc.args, err, out, tc.says)
		}
	}

	// Declining the prompt installs nothing.
	out, err = runRosey(t, "n\n", "plugin", "install", "future-dice", "-config", cfg, "-data", data)
	is.True(err != nil)
	out, err = runRosey(t, "n\n", "plugin", "remove", "dice-duel", "-config", cfg, "-data", data)
	is.NoErr(err)
	out, err = runRosey(t, "n\n", "plugin", "install", markettest.DiceModule+"@v1.0.0", "-config", cfg, "-data", data)
	is.True(err != nil)
	is.True(strings.Contains(out, "dice-duel was not installed"))
	out = mustRosey(t, "", "plugin", "list", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "No plugins installed"))
	out = mustRosey(t, "", "plugin", "info", "future-dice", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "future-dice (not installed)"))
	is.True(strings.Contains(out, "needs Rosey protocol 99"))
	_ = n
}

// TestNodePluginInstall installs the JavaScript example from the npm
// registry into a running bot, upgrades it and removes it.
func TestNodePluginInstall(t *testing.T) {
	is := is.New(t)
	f := marketFixture(t)
	if f.Registry == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the npm test needs node, npm and the example's node_modules in CI: " + f.NoNPM)
		}
		t.Skip("skipping the npm install test: " + f.NoNPM + " (in CI it fails instead)")
	}
	cfg, data := marketConfig(t, f)
	p := start(t, "console", "-config", cfg, "-data", data, "-nats-listen", "127.0.0.1:0", "-http", "none", "-log-level", "info")
	n, m := p.Wait(0, `External plugins connect with ROSEY_NATS_URL=(\S+)`)
	url := m[1]

	out := mustRosey(t, "y\n", "plugin", "install", "npm:"+markettest.FortunePackage+"@1.0.0", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "npm:rosey-plugin-fortune@1.0.0"))
	waitAnswer(t, p, &n, "!shout hi", `rosey> 📣 HI!`, "")
	p.Say("!fortune")
	n, _ = p.Wait(n, `rosey> 🥠 .* \(cookie #1\)`)
	refusedAsPlugin(t, url, filepath.Join(data, "plugins", "fortune", "nats.nkey"), "fortune")

	out = mustRosey(t, "", "plugin", "upgrade", "-config", cfg, "-data", data)
	is.True(strings.Contains(out, "Upgraded fortune to 1.1.0"))
	waitAnswer(t, p, &n, "!admin plugins", `rosey.*> .*fortune 1\.1\.0 installed ×1`, "")
	p.Say("!fortune")
	n, _ = p.Wait(n, `rosey> 🥠 .* \(cookie #2\)`) // its data stayed

	mustRosey(t, "", "plugin", "remove", "fortune", "-config", cfg, "-data", data)
	waitAnswer(t, p, &n, "!admin plugins", `rosey.*> 🔌 \d+ plugins: `, "fortune")
}

// waitAnswer says line until the console prints, after line *n, a line
// matching re (and not containing without, when set); *n moves past it.
func waitAnswer(t *testing.T, p *proctest.Proc, n *int, line, re, without string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		p.Say(line)
		time.Sleep(500 * time.Millisecond)
		lines := strings.Split(p.Output(), "\n")
		for i := *n; i < len(lines); i++ {
			if rx.MatchString(lines[i]) && (without == "" || !strings.Contains(lines[i], without)) {
				*n = i + 1
				return
			}
		}
	}
	t.Fatalf("no line matching %q after saying %q for a minute", re, line)
}

// refusedAsPlugin connects with the plugin's own credentials and checks
// the server lets it do its own work and refuses what it did not declare:
// reading chat, speaking on its own, reading other clients' replies,
// answering or posing as another plugin, the database outside its own
// namespace.
func refusedAsPlugin(t *testing.T, url, seed, name string) {
	t.Helper()
	is := is.New(t)
	opt, err := nats.NkeyOptionFromSeed(seed)
	is.NoErr(err)
	refused := make(chan error, 32)
	nc, err := nats.Connect(url, opt, nats.CustomInboxPrefix("_INBOX.plugin."+name),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { refused <- err }))
	is.NoErr(err)
	defer nc.Close()
	// Its own database namespace answers.
	msg, err := nc.Request("database."+name+".count", []byte(`{"collection": "duel_wins"}`), 10*time.Second)
	is.NoErr(err)
	is.True(strings.Contains(string(msg.Data), `"success":true`))
	for _, s := range []string{"cytube.chat", "cytube.pm", "_INBOX.>", "plugin.help.command", ">"} {
		_, err := nc.SubscribeSync(s)
		is.NoErr(err)
		expectRefused(t, refused, "subscribe "+s)
	}
	for _, s := range []string{"cytube.send.chat", "cytube.chat", "database.set", "database.greeter.set", "plugin.help.command", "platform.plugin.help.started", "platform.plugins.reload"} {
		is.NoErr(nc.Publish(s, []byte(`{}`)))
		expectRefused(t, refused, "publish "+s)
	}
}

// speak publishes a chat line as the plugin, which its user may or may
// not (allowed) be granted.
func speak(t *testing.T, url, seed string, allowed bool) {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan error, 4)
	nc, err := nats.Connect(url, opt, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { refused <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("cytube.send.chat", []byte(`{"message": "a line from dice-duel"}`)); err != nil {
		t.Fatal(err)
	}
	if !allowed {
		expectRefused(t, refused, "publish cytube.send.chat")
		return
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-refused:
		t.Fatalf("publish cytube.send.chat: %v", err)
	case <-time.After(time.Second):
	}
}

func expectRefused(t *testing.T, refused chan error, what string) {
	t.Helper()
	select {
	case err := <-refused:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("%s: %v, not a permissions violation", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was not refused", what)
	}
}
