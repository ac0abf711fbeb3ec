package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/internal/proctest"
	"github.com/roseybot/rosey/plugins/builtin"
)

// binary is the rosey binary built once for the tests that run it as a
// real process.
var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := proctest.Build(".")
	if err != nil {
		panic(err)
	}
	binary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func start(t *testing.T, args ...string) *proctest.Proc {
	return proctest.Start(t, "rosey", binary, args...)
}

// childPIDs returns the pids of every plugin process p started.
func childPIDs(p *proctest.Proc) []int {
	var pids []int
	for _, m := range p.All(`msg="plugin process started" plugin=\S+ pid=(\d+)`) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// alive reports whether process pid still runs. A zombie (exited, not yet
// reaped by whoever adopted it) counts as gone.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name in parentheses: "123 (rosey) Z …".
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func waitGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			// A killed child is reaped by its parent; one whose parent is
			// gone too is reaped by init. Either way it must disappear.
			if time.Now().After(deadline) {
				t.Fatalf("process %d still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestVersion(t *testing.T) {
	is := is.New(t)
	out, err := exec.Command(binary, "version").CombinedOutput()
	is.NoErr(err)
	is.True(strings.HasPrefix(string(out), "rosey "))
}

func TestUnknownCommandAndBadFlags(t *testing.T) {
	is := is.New(t)
	out, err := exec.Command(binary, "fly").CombinedOutput()
	is.True(err != nil)
	is.True(strings.Contains(string(out), `unknown command "fly"`))
	out, err = exec.Command(binary, "run").CombinedOutput()
	is.True(err != nil)
	is.True(strings.Contains(string(out), "-config FILE is required"))
	out, err = exec.Command(binary, "console", "-log-level", "loud").CombinedOutput()
	is.True(err != nil)
	is.True(strings.Contains(string(out), "-log-level"))
	out, err = exec.Command(binary, "plugin", "nope").CombinedOutput()
	is.True(err != nil)
	is.True(strings.Contains(string(out), `no built-in plugin "nope"`))
	for _, cmd := range [][]string{{"console", "-h"}, {"run", "-h"}, {"plugin", "dice-roller", "-h"}} {
		out, err = exec.Command(binary, cmd...).CombinedOutput()
		is.NoErr(err) // asking for help is not a failure
		is.True(strings.Contains(string(out), "-log-level"))
		is.True(!strings.Contains(string(out), "help requested"))
	}
}

func TestConsoleAnswersAndExitsAtEndOfInput(t *testing.T) {
	is := is.New(t)
	cmd := exec.Command(binary, "console", "-nats-listen", "none", "-data", t.TempDir())
	cmd.Stdin = strings.NewReader("!roll 2d6\n!quote add Hello! -- alice\n!quote 1\n")
	out, err := cmd.CombinedOutput()
	is.NoErr(err)
	for _, want := range []string{"rosey> 🎲 Rolled 2d6: [", "✅ Added quote #1", "Quote #1: 'Hello!' - alice"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSIGTERMShutsDownGracefully(t *testing.T) {
	is := is.New(t)
	p := start(t, "console", "-nats-listen", "none", "-data", t.TempDir(), "-log-level", "info")
	p.Wait(0, "rosey started")
	is.NoErr(p.Cmd.Process.Signal(syscall.SIGTERM))
	p.Wait(0, "rosey stopped")
	<-p.Done
	is.NoErr(p.Cmd.Wait())
}

func TestDistributedPluginMode(t *testing.T) {
	is := is.New(t)
	p := start(t, "console", "-plugin-mode", "distributed", "-nats-listen", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "info")
	started := `msg="plugin process started" plugin=dice-roller pid=(\d+)`
	n, m := p.Wait(0, started)
	first, _ := strconv.Atoi(m[1])
	p.Wait(0, "rosey started")

	p.Say("!roll 2d6")
	n, _ = p.Wait(n, `rosey> 🎲 Rolled 2d6`)

	// A crashed plugin process is restarted and answers again.
	is.NoErr(syscall.Kill(first, syscall.SIGKILL))
	n, m = p.Wait(n, started)
	second, _ := strconv.Atoi(m[1])
	is.True(second != first)
	n, _ = p.Wait(n, `plugin=dice-roller line=.*plugin serving`)
	p.Say("!roll 1d4")
	n, _ = p.Wait(n, `rosey> 🎲 Rolled 1d4`)

	// !admin reload restarts the process.
	p.Say("!admin reload dice-roller")
	n, m = p.Wait(n, started)
	third, _ := strconv.Atoi(m[1])
	is.True(third != second)
	n, _ = p.Wait(n, `rosey> .*dice-roller`)
	p.Say("!roll 1d8")
	n, _ = p.Wait(n, `rosey> 🎲 Rolled 1d8`)

	children := childPIDs(p)
	is.True(len(children) >= len(builtin.All()))

	// End of input stops the bot, and every plugin process with it.
	is.NoErr(p.Stdin.Close())
	<-p.Done
	is.NoErr(p.Cmd.Wait())
	waitGone(t, children...)
	_ = n
}

func TestKilledBotLeavesNoPluginProcesses(t *testing.T) {
	is := is.New(t)
	p := start(t, "console", "-plugin-mode", "distributed", "-nats-listen", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "info")
	p.Wait(0, "rosey started")
	children := childPIDs(p)
	is.Equal(len(children), len(builtin.All())) // one process per built-in plugin
	is.NoErr(p.Cmd.Process.Kill())              // no chance to clean up
	<-p.Done
	_ = p.Cmd.Wait()
	waitGone(t, children...)
}

// The README's console command binds 127.0.0.1:4222 by default; when the
// address is taken, the error says which flag changes it.
func TestConsoleNamesTheFlagWhenTheNATSPortIsTaken(t *testing.T) {
	is := is.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer l.Close()
	cmd := exec.Command(binary, "console", "-nats-listen", l.Addr().String(), "-data", t.TempDir())
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	is.True(err != nil)
	if !strings.Contains(string(out), "-nats-listen") || !strings.Contains(string(out), l.Addr().String()) {
		t.Fatalf("the error does not name -nats-listen and the address:\n%s", out)
	}
}

// TestConsoleRequiresCredentials checks that the console's NATS server
// refuses a connection without credentials, and that the line it prints
// at start tells an external plugin what it needs: the URL and the
// generated credentials file, readable by the owner only, which the
// plugin binary reads from ROSEY_NATS_NKEY. -nats-no-auth turns this off.
func TestConsoleRequiresCredentials(t *testing.T) {
	is := is.New(t)
	data := t.TempDir()
	p := start(t, "console", "-nats-listen", "127.0.0.1:0", "-data", data)
	_, m := p.Wait(0, `External plugins connect with ROSEY_NATS_URL=(\S+) ROSEY_NATS_NKEY=(\S+)`)
	url, seed := m[1], m[2]
	is.Equal(seed, filepath.Join(data, "nats.nkey"))
	fi, err := os.Stat(seed)
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600))

	_, err = nats.Connect(url) // any local process, no credentials
	is.True(errors.Is(err, nats.ErrAuthorization))
	opt, err := nats.NkeyOptionFromSeed(seed)
	is.NoErr(err)
	nc, err := nats.Connect(url, opt)
	is.NoErr(err)
	nc.Close()

	// A plugin binary given the printed variables joins the bot.
	plug := exec.Command(binary, "plugin", "8ball")
	plug.Env = append(os.Environ(), "ROSEY_NATS_URL="+url, "ROSEY_NATS_NKEY="+seed, "ROSEY_LOG_LEVEL=info")
	out, err := plug.StderrPipe()
	is.NoErr(err)
	is.NoErr(plug.Start())
	t.Cleanup(func() { _ = plug.Process.Kill(); _ = plug.Wait() })
	served := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "plugin serving") && !ok {
				ok = true
				served <- true
			}
		}
		if !ok {
			served <- false
		}
	}()
	select {
	case ok := <-served:
		is.True(ok)
	case <-time.After(30 * time.Second):
		t.Fatal("the plugin process did not connect")
	}
	is.NoErr(p.Cmd.Process.Signal(syscall.SIGTERM))
	<-p.Done

	// The same data folder keeps the same credentials.
	p = start(t, "console", "-nats-listen", "127.0.0.1:0", "-data", data)
	_, m = p.Wait(0, `External plugins connect with ROSEY_NATS_URL=(\S+) ROSEY_NATS_NKEY=(\S+)`)
	nc, err = nats.Connect(m[1], opt)
	is.NoErr(err)
	nc.Close()
	is.NoErr(p.Cmd.Process.Signal(syscall.SIGTERM))
	<-p.Done

	// -nats-no-auth: for development, anyone local may connect.
	p = start(t, "console", "-nats-listen", "127.0.0.1:0", "-data", t.TempDir(), "-nats-no-auth")
	_, m = p.Wait(0, `External plugins connect with ROSEY_NATS_URL=(\S+) \(no credentials`)
	nc, err = nats.Connect(m[1])
	is.NoErr(err)
	nc.Close()
}
