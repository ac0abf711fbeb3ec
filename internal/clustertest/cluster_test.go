// Package clustertest runs Rosey distributed around a three-node NATS
// cluster on loopback: the connector and router, the database and the
// plugins each in their own process, each on its own node.
package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/proctest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := proctest.Build("github.com/roseybot/rosey/cmd/rosey")
	if err != nil {
		panic(err)
	}
	binary = bin
	code := m.Run()
	cleanup()
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

// startCluster starts n clustered nodes. The ports are picked free and
// then bound, so another process can take one in between (other test
// packages run at the same time): a start that fails is tried again on
// new ports.
func startCluster(t *testing.T, n int) []*node {
	t.Helper()
	var err error
	for range 3 {
		var nodes []*node
		if nodes, err = tryCluster(t, n); err == nil {
			return nodes
		}
		t.Logf("cluster start failed, trying other ports: %v", err)
	}
	t.Fatal(err)
	return nil
}

func tryCluster(t *testing.T, n int) (_ []*node, err error) {
	t.Helper()
	nodes := make([]*node, n)
	defer func() {
		if err != nil {
			for _, nd := range nodes {
				if nd != nil {
					_ = nd.srv.Shutdown(context.Background())
				}
			}
		}
	}()
	ports := make([][2]int, n)
	for i := range nodes {
		ports[i] = [2]int{freePort(t), freePort(t)}
	}
	dir := t.TempDir()
	for i := range nodes {
		var routes []string
		for j := range nodes {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://route:%s@127.0.0.1:%d", routePassword, ports[j][1]))
			}
		}
		// As docs/DEPLOYMENT.md's cluster example: clients and routes
		// need credentials.
		conf := fmt.Sprintf("server_name: n%d\nlisten: 127.0.0.1:%d\n"+
			"authorization { users: [{user: %s, password: %s}] }\n"+
			"cluster {\n  name: rosey\n  listen: 127.0.0.1:%d\n  authorization { user: route, password: %s }\n  routes: [%s]\n}\n",
			i+1, ports[i][0], clusterUser, clusterPassword, ports[i][1], routePassword, strings.Join(routes, ", "))
		file := filepath.Join(dir, fmt.Sprintf("n%d.conf", i+1))
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: file, Listen: fmt.Sprintf("127.0.0.1:%d", ports[i][0])})
		if err != nil {
			return nil, err
		}
		nodes[i] = &node{srv: srv, client: srv.ClientURL()}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	}
	// Wait until every node routes to every other.
	deadline := time.Now().Add(30 * time.Second)
	for _, nd := range nodes {
		for nd.srv.NATS().NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				return nil, errors.New("cluster did not form")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes, nil
}

// run starts `rosey run` with cfg as its config file.
func run(t *testing.T, name string, cfg map[string]any, args ...string) *proctest.Proc {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	file := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return proctest.Start(t, name, binary, append([]string{"run", "-config", file, "-log-level", "info"}, args...)...)
}

// settled waits until plugin.dice-roller.command, asked from node n, has
// answered 20 times in a row: after a node or a plugin copy goes away the
// cluster needs a moment to move the plugins' interest (a request sent in
// that moment may find no responder, or one that just left).
func settled(t *testing.T, n *node) {
	t.Helper()
	ctx := context.Background()
	bus, err := eventbus.Connect(ctx, eventbus.Config{URLs: []string{n.client}, Name: "probe", User: clusterUser, Password: clusterPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close(ctx)
	req := plugin.Request{Command: "roll", Args: []string{"1d2"}, Text: "1d2", User: "probe", Source: plugin.SourceChat}
	deadline := time.Now().Add(time.Minute)
	for ok := 0; ok < 20; {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not settle")
		}
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := bus.Request(rctx, protocol.PluginCommand("dice-roller"), req)
		cancel()
		if err != nil {
			ok = 0
			time.Sleep(20 * time.Millisecond)
			continue
		}
		ok++
	}
}

func urls(n *node) []string { return []string{n.client} }

// The credentials of every client and of the routes between nodes.
const (
	clusterUser     = "rosey"
	clusterPassword = "cluster-secret"
	routePassword   = "route-secret"
)

// natsConfig is a process's "nats" section: one node and the credentials.
func natsConfig(n *node) map[string]any {
	return map[string]any{"urls": urls(n), "user": clusterUser, "password": clusterPassword}
}

func TestClusterRoundTripAndFailover(t *testing.T) {
	is := is.New(t)
	nodes := startCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	// Each process is given one node; the cluster tells clients about the
	// others, which is where they reconnect when their node dies.
	front := run(t, "front", map[string]any{
		"nats":    natsConfig(n1),
		"console": map[string]any{"enabled": true, "user": "alice", "rank": 3},
		// The burst below is one user's: let all of it wait for answers.
		"router": map[string]any{"max_per_user": 64},
	}, "-components", "router,connector")
	db := run(t, "database", map[string]any{
		"nats":     natsConfig(n2),
		"database": map[string]any{"dir": t.TempDir()},
	}, "-components", "database")
	pluginsA := run(t, "plugins-a", map[string]any{
		"nats": natsConfig(n3),
	}, "-components", "plugins")
	pluginsB := run(t, "plugins-b", map[string]any{
		"nats": natsConfig(n3),
	}, "-components", "plugins")
	for _, p := range []*proctest.Proc{front, db, pluginsA, pluginsB} {
		p.Wait(0, "rosey started")
	}
	is.Equal(pluginsA.Count(0, "plugin failed to start"), 0)

	// A command round trip crossing all three nodes, with the database.
	at := 0
	front.Say("!quote add Clusters are fun -- bob")
	at, _ = front.Wait(at, `rosey> ✅ Added quote #1`)
	front.Say("!quote 1")
	at, _ = front.Wait(at, `rosey> Quote #1: 'Clusters are fun' - bob`)

	// Kill the plugins' node: both plugin processes move to another node.
	is.NoErr(n3.srv.Shutdown(context.Background()))
	pluginsA.Wait(0, "nats reconnected")
	pluginsB.Wait(0, "nats reconnected")
	settled(t, n1) // the plugins' interest has reached the front's node again
	for i := range 5 {
		front.Say(fmt.Sprintf("!roll %dd6", i+1))
		at, _ = front.Wait(at, fmt.Sprintf(`rosey> 🎲 Rolled %dd6`, i+1))
	}

	// Kill one of the two plugin copies without warning: nothing is lost.
	is.NoErr(pluginsB.Cmd.Process.Kill())
	<-pluginsB.Done
	settled(t, n1) // the cluster has dropped the dead copy's interest
	mark := at
	const n = 30
	for i := range n {
		front.Say(fmt.Sprintf("!roll 1d%d", i+2))
	}
	for i := range n {
		at, _ = front.Wait(mark, fmt.Sprintf(`rosey> 🎲 Rolled 1d%d:`, i+2))
	}
	is.Equal(front.Count(mark, `rosey> 🎲 Rolled 1d\d+:`), n) // each answered exactly once
	is.Equal(front.Count(mark, `did not answer|not running`), 0)
	_ = db
}
