package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
)

// binary is the rosey binary built once for the tests that run it as a
// real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rosey-cmd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rosey")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(fmt.Sprintf("build rosey: %v", err))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running rosey binary whose stdout and stderr lines are watched.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []string
	more  chan struct{}
	done  chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(binary, args...), more: make(chan struct{}, 1), done: make(chan struct{})}
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		_ = p.cmd.Wait()
	})
	return p
}

func (p *proc) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// wait returns the first line after line number from matching re.
func (p *proc) wait(from int, re string) (int, []string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if m := rx.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return i + 1, m
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.done:
			p.t.Fatalf("rosey exited before printing %q; output:\n%s", re, p.output())
		case <-deadline:
			p.t.Fatalf("no line matching %q; output:\n%s", re, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
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
	p.wait(0, "rosey started")
	is.NoErr(p.cmd.Process.Signal(syscall.SIGTERM))
	p.wait(0, "rosey stopped")
	<-p.done
	is.NoErr(p.cmd.Wait())
}

func TestDistributedPluginMode(t *testing.T) {
	is := is.New(t)
	p := start(t, "console", "-plugin-mode", "distributed", "-nats-listen", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "info")
	started := `msg="plugin process started" plugin=dice-roller pid=(\d+)`
	n, m := p.wait(0, started)
	first, _ := strconv.Atoi(m[1])
	p.wait(0, "rosey started")

	p.say("!roll 2d6")
	n, _ = p.wait(n, `rosey> 🎲 Rolled 2d6`)

	// A crashed plugin process is restarted and answers again.
	is.NoErr(syscall.Kill(first, syscall.SIGKILL))
	n, m = p.wait(n, started)
	second, _ := strconv.Atoi(m[1])
	is.True(second != first)
	n, _ = p.wait(n, `plugin=dice-roller line=.*plugin serving`)
	p.say("!roll 1d4")
	n, _ = p.wait(n, `rosey> 🎲 Rolled 1d4`)

	// !admin reload restarts the process.
	p.say("!admin reload dice-roller")
	n, m = p.wait(n, started)
	third, _ := strconv.Atoi(m[1])
	is.True(third != second)
	n, _ = p.wait(n, `rosey> .*dice-roller`)
	p.say("!roll 1d8")
	n, _ = p.wait(n, `rosey> 🎲 Rolled 1d8`)

	var children []int
	p.mu.Lock()
	for _, l := range p.lines {
		if m := regexp.MustCompile(`msg="plugin process started" plugin=\S+ pid=(\d+)`).FindStringSubmatch(l); m != nil {
			pid, _ := strconv.Atoi(m[1])
			children = append(children, pid)
		}
	}
	p.mu.Unlock()
	is.True(len(children) >= 8)

	// End of input stops the bot, and every plugin process with it.
	is.NoErr(p.stdin.Close())
	<-p.done
	is.NoErr(p.cmd.Wait())
	waitGone(t, children...)
	_ = n
}

func TestKilledBotLeavesNoPluginProcesses(t *testing.T) {
	is := is.New(t)
	p := start(t, "console", "-plugin-mode", "distributed", "-nats-listen", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "info")
	p.wait(0, "rosey started")
	var children []int
	p.mu.Lock()
	for _, l := range p.lines {
		if m := regexp.MustCompile(`msg="plugin process started" plugin=\S+ pid=(\d+)`).FindStringSubmatch(l); m != nil {
			pid, _ := strconv.Atoi(m[1])
			children = append(children, pid)
		}
	}
	p.mu.Unlock()
	is.Equal(len(children), 8)
	is.NoErr(p.cmd.Process.Kill()) // no chance to clean up
	<-p.done
	_ = p.cmd.Wait()
	waitGone(t, children...)
}
