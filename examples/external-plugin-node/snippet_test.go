package node_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/roseytest"
)

// TestProtocolSnippetRuns runs the JavaScript plugin of docs/PROTOCOL.md §8
// as printed there: it answers !hello, announces itself again when its
// connection comes back, and says stopped on SIGTERM.
func TestProtocolSnippetRuns(t *testing.T) {
	is := is.New(t)
	node := needNode(t)
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	is.NoErr(err)
	_, section, ok := strings.Cut(string(doc), "## 8. A plugin in a few lines of JavaScript")
	is.True(ok)
	_, code, ok := strings.Cut(section, "```js\n")
	is.True(ok)
	code, _, ok = strings.Cut(code, "```")
	is.True(ok)
	// Here, so that node finds this example's node_modules.
	script := filepath.Join(".", "protocol-snippet-"+strings.ReplaceAll(t.Name(), "/", "-")+".mjs")
	is.NoErr(os.WriteFile(script, []byte(code), 0o600))
	t.Cleanup(func() { _ = os.Remove(script) })

	// A NATS server of the test's own, so that it can drop the plugin's
	// connection. It requires the credentials it generates, as the bot's
	// embedded server does, and the snippet logs in with them.
	seed := filepath.Join(t.TempDir(), "nats.nkey")
	srv, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0", SeedFile: seed})
	is.NoErr(err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	h := roseytest.New(t, roseytest.WithConfig(func(c *rosey.Config) {
		c.NATS.URLs, c.NATS.NKeyFile = []string{srv.ClientURL()}, seed
	}))
	events := make(chan string, 16)
	sub, err := h.Bus().Conn().Subscribe("platform.plugin.hello.*", func(m *nats.Msg) { events <- m.Subject })
	is.NoErr(err)
	defer sub.Unsubscribe()
	is.NoErr(h.Bus().Flush(context.Background()))

	p := start(t, node, script, "ROSEY_NATS_URL="+srv.ClientURL(), "ROSEY_NATS_NKEY="+seed)
	is.Equal(receiveString(t, events), "platform.plugin.hello.started")
	waitFor(t, "hello registered", func() bool { return instances(h.Bot().Plugins().Directory(), "hello") == 1 })
	h.Say("alice", "!hello Bob")
	h.Expect("Hello, Bob!")

	// The server drops the plugin's connection; it comes back and says so.
	conns, err := srv.NATS().Connz(&server.ConnzOptions{})
	is.NoErr(err)
	var cid uint64
	for _, c := range conns.Conns {
		if c.Lang != "go" {
			cid = c.Cid
		}
	}
	is.True(cid != 0)
	is.NoErr(srv.NATS().DisconnectClientByID(cid))
	is.Equal(receiveString(t, events), "platform.plugin.hello.started")

	is.NoErr(p.cmd.Process.Signal(syscall.SIGTERM))
	is.Equal(receiveString(t, events), "platform.plugin.hello.stopped")
	is.NoErr(p.wait(t))
	waitFor(t, "hello forgotten", func() bool { return instances(h.Bot().Plugins().Directory(), "hello") == 0 })
}

func receiveString(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
		return ""
	}
}
