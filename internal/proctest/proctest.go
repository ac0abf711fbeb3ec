// Package proctest runs the rosey binary as a real process in tests and
// watches what it prints, for tests of process supervision, signals and
// clusters.
package proctest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles the package pkg (an import path or a directory) into a
// temporary directory and returns the binary's path and a function that
// removes it. It is meant for TestMain. It builds as docs/DEPLOYMENT.md
// says to build the binary to deploy, with CGO_ENABLED=0.
func Build(pkg string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "rosey-proctest")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "rosey")
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// Proc is a running process whose stdout and stderr lines are collected.
type Proc struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser
	// Done is closed when the output ends (the process exited).
	Done chan struct{}

	t     *testing.T
	name  string
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

// Start runs bin with args. The process is killed when the test ends, and
// its output is logged if the test failed.
func Start(t *testing.T, name, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, name: name, Cmd: exec.Command(bin, args...), Done: make(chan struct{}), more: make(chan struct{}, 1)}
	var err error
	if p.Stdin, err = p.Cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Stderr = p.Cmd.Stdout
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.Done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
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
		_ = p.Cmd.Process.Kill()
		<-p.Done
		_ = p.Cmd.Wait()
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.Output())
		}
	})
	return p
}

// Say writes line to the process's standard input.
func (p *Proc) Say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.Stdin, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// Wait finds the first line from index from on that matches re, waiting up
// to a minute for it, and returns the index after it and re's submatches.
func (p *Proc) Wait(from int, re string) (int, []string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(time.Minute)
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
		case <-p.Done:
			p.t.Fatalf("%s exited before printing %q", p.name, re)
		case <-deadline:
			p.t.Fatalf("%s printed no line matching %q", p.name, re)
		}
	}
}

// All returns the submatches of every line matching re.
func (p *Proc) All(re string) [][]string {
	rx := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]string
	for _, l := range p.lines {
		if m := rx.FindStringSubmatch(l); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// Count returns how many lines from index from on match re.
func (p *Proc) Count(from int, re string) int {
	rx := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines[from:] {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

// Output returns everything printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}
