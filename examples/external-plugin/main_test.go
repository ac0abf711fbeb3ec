package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/roseytest"
)

// runAsPlugin makes the test binary act as the plugin binary: the test
// starts itself again with this variable set, so the plugin runs as a real
// separate process through the real main, with no separate build step.
const runAsPlugin = "ROSEY_EXAMPLE_RUN_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPlugin) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestExternalPluginAnswersInChatAndHelp starts a bot whose embedded NATS
// server listens on a random port, runs the plugin as its own process
// against it, and talks to it through chat as a user would.
func TestExternalPluginAnswersInChatAndHelp(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t,
		roseytest.WithPlugins(help.New(help.Config{})),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.NATS.Embedded.NoListen = false
			c.NATS.Embedded.Listen = "127.0.0.1:0"
		}))
	url := h.Bot().NATSURL()
	is.True(url != "") // the embedded server listens

	// The URL and the bot's credentials come from the environment, the
	// config from a flag.
	proc := startPlugin(t, []string{"-config", `{"greeting": "Howdy"}`, "-log-level", "debug"}, h.ClientEnv()...)
	waitFor(t, "greeter registered", func() bool {
		_, ok := h.Bot().Plugins().Directory().Get("greeter")
		return ok
	})

	h.Say("alice", "!hello")
	h.Expect("👋 Howdy, alice! (greeting #1)")
	h.Say("alice", "!hi Bob")
	h.Expect("👋 Howdy, Bob! (greeting #1)")
	h.Say("carol", "!hello bob") // counted in the bot's database, names in any case
	h.Expect("👋 Howdy, bob! (greeting #2)")
	h.PM("dave", "!hello")
	h.ExpectPM("dave", "👋 Howdy, dave! (greeting #1)")

	h.Say("alice", "!help")
	h.Expect("greeter: !hello")
	h.Say("alice", "!help hi")
	h.Expect("📖 !hello [name] — Greets you, or whoever you name")

	// SIGTERM: the plugin drains, announces it stopped and exits cleanly;
	// the bot forgets its commands.
	is.NoErr(proc.signal(syscall.SIGTERM))
	is.NoErr(proc.wait(t))
	waitFor(t, "greeter forgotten", func() bool {
		_, ok := h.Bot().Plugins().Directory().Get("greeter")
		return !ok
	})
	h.Say("alice", "!help")
	r := h.Expect("📖")
	is.True(!strings.Contains(r.Message, "greeter"))
}

// TestExternalPluginRejectsBadFlags checks that the binary explains a bad
// config instead of starting.
func TestExternalPluginRejectsBadFlags(t *testing.T) {
	is := is.New(t)
	proc := startPlugin(t, []string{"-config", "{not json", "-nats", "nats://127.0.0.1:1"})
	err := proc.wait(t)
	var exit *exec.ExitError
	is.True(errors.As(err, &exit)) // exits non-zero
	help := startPlugin(t, []string{"-h"})
	is.NoErr(help.wait(t)) // asking for help is not a failure
}

// proc is a running plugin process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // how it exited, once done is closed
}

// startPlugin runs the plugin binary (this test binary, see TestMain) with
// args and extra environment. Its log goes to the test log. It is killed
// when the test ends if it is still running.
func startPlugin(t *testing.T, args []string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append([]string{runAsPlugin + "=1"}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			t.Log("plugin:", s.Text())
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait() // after the last read of the pipe
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op when it has exited
		<-p.done
	})
	return p
}

// signal sends sig to the process.
func (p *proc) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// wait waits (generously) for the process to exit and returns how it ended.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatal("plugin process did not exit")
		return nil
	}
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
