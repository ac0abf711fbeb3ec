// Package node_test runs the JavaScript plugin in this directory (index.js)
// against a real bot and talks to it through chat, as a user would.
//
// The plugin needs its npm dependencies: .ci/node.sh installs them (npm ci);
// when they are missing the test tries the same itself, and skips only when
// node is not installed or the install fails.
package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/roseytest"
)

func TestNodePluginAnswersInChatAndHelp(t *testing.T) {
	is := is.New(t)
	node := needNode(t)
	h := roseytest.New(t,
		roseytest.WithPlugins(help.New(help.Config{})),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.NATS.Embedded.NoListen = false
			c.NATS.Embedded.Listen = "127.0.0.1:0"
		}))
	is.True(h.Bot().NATSURL() != "")

	// Watch the database requests the plugin makes, to check that they
	// carry the correlation id of the command that caused them.
	dbRequests := make(chan *eventbus.Event, 16)
	_, err := h.Bus().Subscribe("database.fortune.update", func(_ context.Context, ev *eventbus.Event) { dbRequests <- ev })
	is.NoErr(err)
	stopped := make(chan *eventbus.Event, 1)
	_, err = h.Bus().Subscribe("platform.plugin.fortune.stopped", func(_ context.Context, ev *eventbus.Event) { stopped <- ev })
	is.NoErr(err)
	is.NoErr(h.Bus().Flush(context.Background()))

	p := start(t, node, "index.js", append(h.ClientEnv(), // the URL and the bot's credentials
		`ROSEY_PLUGIN_CONFIG={"fortunes": ["Only one fortune here."]}`,
		"ROSEY_LOG_LEVEL=debug")...)
	waitFor(t, "fortune registered", func() bool { return instances(h.Bot().Plugins().Directory(), "fortune") == 1 })

	// Micro service discovery finds it too, with its Info from the metadata.
	// (A sweep forgets a plugin whose answer comes after its wait, so on a
	// busy machine it may take more than one.)
	waitFor(t, "fortune discovered", func() bool {
		dir := h.Bot().Plugins().Directory()
		return dir.Refresh(context.Background(), time.Second) == nil && instances(dir, "fortune") == 1
	})
	e, ok := h.Bot().Plugins().Directory().Get("fortune")
	is.True(ok)
	is.Equal(len(e.Instances), 1)
	is.Equal(e.Info.Version, "1.0.0")
	is.Equal(len(e.Info.Commands), 2)
	is.Equal(e.Info.Commands[0].Cooldown, time.Second)
	m, err := h.Bus().Conn().Request("$SRV.INFO.fortune", nil, 10*time.Second)
	is.NoErr(err)
	var si micro.Info
	is.NoErr(json.Unmarshal(m.Data, &si))
	is.Equal(si.Metadata[plugin.MetaPrefix], "")
	is.Equal(len(si.Endpoints), 1)
	is.Equal(si.Endpoints[0].Subject, "plugin.fortune.command")
	is.Equal(si.Endpoints[0].QueueGroup, "rosey.fortune") // copies share the commands

	// Chat in, chat out; an alias; the database over NATS.
	h.Say("alice", "!fortune")
	h.Expect("🥠 Only one fortune here. (cookie #1)")
	h.Say("bob", "!cookie")
	h.Expect("🥠 Only one fortune here. (cookie #2)")
	h.Say("alice", "!shout  hello there")
	h.Expect("📣 HELLO THERE!")
	h.Say("alice", "!shout")
	h.Expect("❌ Usage: !shout <text>")
	h.PM("carol", "!shout psst")
	h.ExpectPM("carol", "📣 PSST!")

	// It is listed and explained by !help like any built-in plugin.
	h.Say("alice", "!help")
	h.Expect("fortune: !fortune !shout")
	h.Say("alice", "!help cookie")
	h.Expect("📖 !fortune — Opens a fortune cookie")

	// Straight on the wire: the reply and the database request keep the
	// request's correlation id; bad input gets an error reply.
	for len(dbRequests) > 0 {
		<-dbRequests
	}
	ctx := eventbus.WithCorrelationID(context.Background(), "corr-123")
	rep, err := h.Bus().Request(ctx, "plugin.fortune.command", plugin.Request{Command: "fortune", User: "dave", Source: plugin.SourceChat})
	is.NoErr(err)
	is.Equal(rep.CorrelationID, "corr-123")
	is.Equal(rep.Source, "fortune")
	var resp plugin.Response
	is.NoErr(rep.Decode(&resp))
	is.Equal(resp.Result, "🥠 Only one fortune here. (cookie #3)")
	select {
	case ev := <-dbRequests:
		is.Equal(ev.CorrelationID, "corr-123")
	case <-time.After(10 * time.Second):
		t.Fatal("no database request seen")
	}
	for _, tc := range []struct{ body, want string }{
		{`{not json`, "malformed request"},
		{`{"command": "nope"}`, `unknown command "nope"`},
	} {
		m, err := h.Bus().Conn().Request("plugin.fortune.command", []byte(tc.body), 10*time.Second)
		is.NoErr(err)
		var resp plugin.Response
		is.NoErr(json.Unmarshal(m.Data, &resp))
		is.True(strings.Contains(resp.Error, tc.want))
	}

	// SIGTERM: it announces that it stopped, exits 0, and the bot forgets it.
	is.NoErr(p.cmd.Process.Signal(syscall.SIGTERM))
	is.NoErr(p.wait(t))
	select {
	case ev := <-stopped:
		var a plugin.Announcement
		is.NoErr(ev.Decode(&a))
		is.Equal(a.State, plugin.StateStopped)
		is.Equal(a.Name, "fortune")
		is.Equal(a.Instance, e.Instances[0])
	case <-time.After(10 * time.Second):
		t.Fatal("no stopped announcement")
	}
	waitFor(t, "fortune forgotten", func() bool {
		_, ok := h.Bot().Plugins().Directory().Get("fortune")
		return !ok
	})
}

// TestNodePluginUnderLeastPrivilege runs the plugin as the fortune user of
// docs/examples/least-privilege.conf: it works, and nothing it does on its
// own is refused by the server.
func TestNodePluginUnderLeastPrivilege(t *testing.T) {
	is := is.New(t)
	node := needNode(t)
	t.Setenv("ROSEY_BOT_PASSWORD", "bot-secret")
	t.Setenv("ROSEY_ROUTER_PASSWORD", "router-secret")
	t.Setenv("ROSEY_GREETER_PASSWORD", "greeter-secret")
	t.Setenv("ROSEY_FORTUNE_PASSWORD", "fortune-secret")
	h := roseytest.New(t,
		roseytest.WithPlugins(help.New(help.Config{})),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.NATS.User, c.NATS.Password = "rosey", "bot-secret"
			c.NATS.Embedded.NoListen = false
			c.NATS.Embedded.Listen = "127.0.0.1:0"
			c.NATS.Embedded.ConfigFile = filepath.Join("..", "..", "docs", "examples", "least-privilege.conf")
		}))
	p := start(t, node, "index.js",
		"ROSEY_NATS_URL="+h.Bot().NATSURL(), "ROSEY_NATS_USER=fortune", "ROSEY_NATS_PASSWORD=fortune-secret",
		`ROSEY_PLUGIN_CONFIG={"fortunes": ["Least is best."]}`)
	dir := h.Bot().Plugins().Directory()
	waitFor(t, "fortune registered", func() bool { return instances(dir, "fortune") == 1 })
	waitFor(t, "fortune discovered", func() bool {
		return dir.Refresh(context.Background(), time.Second) == nil && instances(dir, "fortune") == 1
	})

	h.Say("alice", "!fortune")
	h.Expect("🥠 Least is best. (cookie #1)")
	h.Say("alice", "!shout ok")
	h.Expect("📣 OK!")
	h.Say("alice", "!help")
	h.Expect("fortune: !fortune !shout")

	is.NoErr(p.cmd.Process.Signal(syscall.SIGTERM))
	is.NoErr(p.wait(t))
	for _, line := range p.out {
		is.True(!strings.Contains(line, "level=ERROR")) // nothing refused
	}
	waitFor(t, "fortune forgotten", func() bool { return instances(dir, "fortune") == 0 })
}

// needNode returns the path of node, with this directory's npm packages
// installed, or skips the test when that cannot be had.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat("node_modules/nats/package.json"); err == nil {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("node_modules is missing and npm is not installed (run .ci/node.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		t.Skipf("node_modules is missing and npm ci failed (run .ci/node.sh): %v\n%s", err, out)
	}
	return node
}

// proc is a running process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // how it exited, once done is closed
	out  []string      // its output lines, once done is closed
}

// start runs name with args and extra environment; its output goes to the
// test log. It is killed when the test ends if it still runs.
func start(t *testing.T, name, arg string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, arg)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			t.Log("node:", s.Text())
			p.out = append(p.out, s.Text())
		}
		_, _ = io.Copy(io.Discard, out)
		p.err = cmd.Wait() // after the last read of the pipe
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it has exited
		<-p.done
	})
	return p
}

// wait waits (generously) for the process to exit and returns how it ended.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatal("process did not exit")
		return nil
	}
}

// instances returns how many copies of the plugin name dir knows.
func instances(dir *supervisor.Directory, name string) int {
	e, ok := dir.Get(name)
	if !ok {
		return 0
	}
	return len(e.Instances)
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
