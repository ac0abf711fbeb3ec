// Package clustertest runs Rosey distributed around a three-node NATS
// cluster on loopback: the connector and router, the database and the
// plugins each in their own process, each on its own node.
package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus/embedded"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rosey-cluster-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rosey")
	build := exec.Command("go", "build", "-o", binary, "github.com/roseybot/rosey/cmd/rosey")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(fmt.Sprintf("build rosey: %v", err))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// node is one clustered nats-server.
type node struct {
	srv        *embedded.Server
	client     string
	clusterURL string
}

func startCluster(t *testing.T, n int) []*node {
	t.Helper()
	nodes := make([]*node, n)
	ports := make([][2]int, n)
	for i := range nodes {
		ports[i] = [2]int{freePort(t), freePort(t)}
	}
	dir := t.TempDir()
	for i := range nodes {
		var routes []string
		for j := range nodes {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[j][1]))
			}
		}
		conf := fmt.Sprintf("server_name: n%d\nlisten: 127.0.0.1:%d\ncluster {\n  name: rosey\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
			i+1, ports[i][0], ports[i][1], strings.Join(routes, ", "))
		file := filepath.Join(dir, fmt.Sprintf("n%d.conf", i+1))
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: file, Listen: fmt.Sprintf("127.0.0.1:%d", ports[i][0])})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{srv: srv, client: srv.ClientURL()}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	}
	// Wait until every node routes to every other.
	deadline := time.Now().Add(30 * time.Second)
	for _, nd := range nodes {
		for nd.srv.NATS().NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("cluster did not form")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}

// proc is one rosey process whose output lines are watched.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []string
	more  chan struct{}
	done  chan struct{}
}

func run(t *testing.T, name string, cfg map[string]any, args ...string) *proc {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	file := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, more: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"run", "-config", file, "-log-level", "info"}, args...)...)
	p.stdin, _ = p.cmd.StdinPipe()
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
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// wait returns the index after the first line at or after from matching re.
func (p *proc) wait(from int, re string) int {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if rx.MatchString(p.lines[i]) {
				p.mu.Unlock()
				return i + 1
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.done:
			p.t.Fatalf("%s exited before printing %q", p.name, re)
		case <-deadline:
			p.t.Fatalf("%s printed no line matching %q", p.name, re)
		}
	}
}

// count returns how many lines from from match re.
func (p *proc) count(from int, re string) int {
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

func urls(n *node) []string { return []string{n.client} }

func TestClusterRoundTripAndFailover(t *testing.T) {
	is := is.New(t)
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	// Each process is given one node; the cluster tells clients about the
	// others, which is where they reconnect when their node dies.
	front := run(t, "front", map[string]any{
		"nats":    map[string]any{"urls": urls(n1)},
		"console": map[string]any{"enabled": true, "user": "alice", "rank": 3},
	}, "-components", "router,connector")
	db := run(t, "database", map[string]any{
		"nats":     map[string]any{"urls": urls(n2)},
		"database": map[string]any{"dir": t.TempDir()},
	}, "-components", "database")
	pluginsA := run(t, "plugins-a", map[string]any{
		"nats": map[string]any{"urls": urls(n3)},
	}, "-components", "plugins")
	pluginsB := run(t, "plugins-b", map[string]any{
		"nats": map[string]any{"urls": urls(n3)},
	}, "-components", "plugins")
	for _, p := range []*proc{front, db, pluginsA, pluginsB} {
		p.wait(0, "rosey started")
	}
	is.Equal(pluginsA.count(0, "plugin failed to start"), 0)

	// A command round trip crossing all three nodes, with the database.
	at := 0
	front.say("!quote add Clusters are fun -- bob")
	at = front.wait(at, `rosey> ✅ Added quote #1`)
	front.say("!quote 1")
	at = front.wait(at, `rosey> Quote #1: 'Clusters are fun' - bob`)

	// Kill the plugins' node: both plugin processes move to another node.
	is.NoErr(n3.srv.Shutdown(context.Background()))
	pluginsA.wait(0, "nats reconnected")
	pluginsB.wait(0, "nats reconnected")
	for i := range 5 {
		front.say(fmt.Sprintf("!roll %dd6", i+1))
		at = front.wait(at, fmt.Sprintf(`rosey> 🎲 Rolled %dd6`, i+1))
	}

	// Kill one of the two plugin copies without warning: nothing is lost.
	is.NoErr(pluginsB.cmd.Process.Kill())
	<-pluginsB.done
	mark := at
	const n = 30
	for i := range n {
		front.say(fmt.Sprintf("!roll 1d%d", i+2))
	}
	for i := range n {
		at = front.wait(mark, fmt.Sprintf(`rosey> 🎲 Rolled 1d%d:`, i+2))
	}
	is.Equal(front.count(mark, `rosey> 🎲 Rolled 1d\d+:`), n) // each answered exactly once
	is.Equal(front.count(mark, `did not answer|not running`), 0)
	_ = db
}
