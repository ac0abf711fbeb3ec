package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/admin"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// counter is a plugin with a subscription and a command, to reload.
type counter struct{}

func (counter) Info() plugin.Info {
	return plugin.Info{Name: "counter", Version: "1.2.3", Commands: []plugin.Command{{Name: "count"}}}
}

func (counter) Start(_ context.Context, h *plugin.Host) error {
	n := 0
	if err := h.Subscribe(protocol.UserJoin, func(context.Context, *eventbus.Event) {}); err != nil {
		return err
	}
	h.Handle("count", func(context.Context, *plugin.Request) (string, error) { n++; return fmt.Sprintf("count %d", n), nil })
	return nil
}

func (counter) Stop(context.Context) error { return nil }

func start(t *testing.T, opts ...roseytest.Option) *roseytest.Harness {
	opts = append([]roseytest.Option{
		roseytest.WithPlugins(admin.New(admin.Config{}), counter{}),
		roseytest.WithConfig(func(c *rosey.Config) { c.Router.Admins = []string{"boss"} }),
	}, opts...)
	return roseytest.New(t, opts...)
}

func TestNeedsAdminRank(t *testing.T) {
	h := start(t)
	h.SetRank("mod", protocol.RankModerator)
	h.Say("mod", "!admin plugins")
	h.Expect("⛔ !admin needs rank admin")
	h.Say("Boss", "!admin plugins")
	h.Expect("🔌")
	h.SetRank("owner", protocol.RankOwner)
	h.Say("owner", "!admin plugins")
	h.Expect("🔌")
}

func TestPluginsList(t *testing.T) {
	is := is.New(t)
	h := start(t)
	h.Say("alice", "!count")
	h.Expect("count 1")
	h.Say("boss", "!admin plugins")
	r := h.Expect("🔌 3 plugins: ")
	is.True(strings.Contains(r.Message, "🟢 admin 1.0.0 in-process"))
	is.True(strings.Contains(r.Message, "🟢 counter 1.2.3 in-process 1 req 0 err"))
}

func TestReloadEnableDisable(t *testing.T) {
	h := start(t)
	h.Say("alice", "!count")
	h.Expect("count 1")
	h.Say("boss", "!admin reload counter")
	h.Expect("🔄 Reloaded counter.")
	h.Say("alice", "!count")
	h.Expect("count 1") // a fresh start
	h.Say("boss", "!admin disable counter")
	h.Expect("⏹️ Disabled counter.")
	h.Say("alice", "!count")
	h.Expect("Unknown command !count") // its commands are gone
	h.Say("boss", "!admin plugins")
	h.Expect("⚪ counter 1.2.3")
	h.Say("boss", "!admin enable counter")
	h.Expect("▶️ Enabled counter.")
	h.Say("boss", "!admin enable counter")
	h.Expect("▶️ counter is already running.")
	h.Say("alice", "!count")
	h.Expect("count 1")
	h.ExpectNone()
}

func TestRefusesToStopItself(t *testing.T) {
	h := start(t)
	h.Say("boss", "!admin reload admin")
	h.Expect("❌ I can't reload admin")
	h.Say("boss", "!admin disable Admin")
	h.Expect("❌ I can't disable admin")
	h.Say("boss", "!admin status")
	h.Expect("📊 Uptime")
}

func TestBadArguments(t *testing.T) {
	h := start(t)
	for _, c := range []struct{ line, want string }{
		{"!admin", "❌ Usage: !admin plugins | status | reload <plugin>"},
		{"!admin dance", "❌ Usage: !admin plugins"},
		{"!admin reload", "❌ Usage: !admin reload <plugin>"},
		{"!admin enable a b", "❌ Usage: !admin enable <plugin>"},
		{"!admin reload nope", "❌ No plugin named nope."},
		{"!admin status now", "❌ Usage: !admin"},
	} {
		h.Say("boss", c.line)
		h.Expect(c.want)
	}
	h.ExpectNone()
}

// TestStatus: the messages in and out are the connector's own counts, the
// connection its state; the plugin follows no chat to count them.
func TestStatus(t *testing.T) {
	is := is.New(t)
	h := start(t)
	srv := h.CyTube()
	srv.Say(roseytest.Channel, "alice", "hello")
	srv.Say(roseytest.Channel, "bob", "hi")
	is.NoErr(srv.PM(roseytest.Channel, "carol", "RoseyBot", "psst"))
	srv.Say(roseytest.Channel, "boss", "!admin status")
	r := h.Expect("📊 Uptime ")
	is.True(strings.Contains(r.Message, "CyTube: connected to "+roseytest.Channel+", for "))
	is.True(strings.Contains(r.Message, "messages in 4, out ")) // 3 lines and the command
	is.True(strings.Contains(r.Message, "plugins running 3/3"))
	// The harness hears the answer on the bus; the connector counts it out
	// when it writes it to CyTube, which may come later.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return strings.Contains(m.HTML, "Uptime") })
	is.NoErr(err)
	srv.Say(roseytest.Channel, "boss", "!admin status")
	r = h.Expect("messages in 5, out ")
	is.True(!strings.Contains(r.Message, "out 0")) // at least the first status

	// A channel whose connector does not answer is shown from its last
	// connection change, without figures of its own.
	is.NoErr(h.Bus().Publish(context.Background(), protocol.Connection,
		protocol.ConnectionEvent{Channel: "den", State: protocol.StateReconnecting, Reason: "server closed"}))
	// Once the plugin has heard it: the event and the command reach it by
	// different subscriptions.
	for i := 0; ; i++ {
		h.Say("boss", "!admin status")
		r = h.Expect("📊 Uptime ")
		if strings.Contains(r.Message, "den") {
			break
		}
		if i == 50 {
			t.Fatalf("the status never showed den: %s", r.Message)
		}
	}
	is.True(strings.Contains(r.Message, "reconnecting to den (server closed), for "))
	is.True(strings.Contains(r.Message, "messages in 5, out ")) // the one connector that answered
}

// TestStatusWithoutConnector: no connector at all is said plainly.
func TestStatusWithoutConnector(t *testing.T) {
	h := start(t)
	h.Say("boss", "!admin status")
	h.Expect("CyTube: unknown (no connector has reported) · messages in and out unknown (no connector answered)")
}

// Reloading a plugin many times leaves no subscription behind and still
// gives exactly one reply per command.
func TestReloadLeavesNoSubscriptions(t *testing.T) {
	is := is.New(t)
	h := start(t)
	// Warm up: the first request and reload create the bus's shared inbox.
	h.Say("boss", "!admin reload counter")
	h.Expect("🔄 Reloaded counter.")
	h.Say("alice", "!count")
	h.Expect("count 1")
	// NATS drains removed subscriptions in the background, and the plugin
	// directory holds a reply subscription for the 500 ms of a discovery
	// sweep: count once the number has stopped moving for longer than that.
	stable := func() int {
		n := h.Bus().Conn().NumSubscriptions()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			time.Sleep(600 * time.Millisecond)
			m := h.Bus().Conn().NumSubscriptions()
			if m == n {
				break
			}
			n = m
		}
		return n
	}
	before := stable()
	for range 100 {
		h.Say("boss", "!admin reload counter")
		h.Expect("🔄 Reloaded counter.")
	}
	is.Equal(stable(), before)
	h.Say("alice", "!count")
	h.Expect("count 1")
	h.ExpectNone()
}

// fakeConnector answers every cytube.state.connector request, whatever
// channel it names, with figures (as a careless or hostile connector may).
func fakeConnector(t *testing.T, h *roseytest.Harness, figures func(asked string) protocol.ConnectorStats) {
	t.Helper()
	sub, err := h.Bus().Subscribe(protocol.StateConnector, func(ctx context.Context, ev *eventbus.Event) {
		var req protocol.ChannelRequest
		_ = ev.Decode(&req)
		data, _ := json.Marshal(figures(req.Channel))
		_ = h.Bus().Respond(ctx, ev, protocol.Reply{OK: true, Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
}

// TestStatusCountsAChannelOnce: an answer that is about another channel
// than the one asked is not that channel's, so one connector answering for
// every channel is counted once, not once per channel known.
func TestStatusCountsAChannelOnce(t *testing.T) {
	is := is.New(t)
	h := start(t)
	fakeConnector(t, h, func(string) protocol.ConnectorStats {
		return protocol.ConnectorStats{Channel: "den", State: protocol.StateConnected, MessagesIn: 100, MessagesOut: 7}
	})
	for _, ch := range []string{"den", "lab"} {
		is.NoErr(h.Bus().Publish(context.Background(), protocol.Connection,
			protocol.ConnectionEvent{Channel: ch, State: protocol.StateConnected}))
	}
	// Once the plugin has heard of both channels (the connection events
	// and the command reach it by different subscriptions), in
	// roseytest.Channel: a third channel asked.
	for i := 0; ; i++ {
		h.Say("boss", "!admin status")
		r := h.Expect("📊 Uptime ")
		if strings.Contains(r.Message, "connected to lab") && strings.Contains(r.Message, "connected to den") {
			is.True(strings.Contains(r.Message, "messages in 100, out 7")) // den's, once
			break
		}
		if i == 50 {
			t.Fatalf("the status never showed both channels: %s", r.Message)
		}
	}
}

// TestStatusHugeFigures: figures that would wrap around when summed are
// not shown as small ones.
func TestStatusHugeFigures(t *testing.T) {
	is := is.New(t)
	h := start(t)
	fakeConnector(t, h, func(asked string) protocol.ConnectorStats {
		st := protocol.ConnectorStats{Channel: asked, State: protocol.StateConnected, MessagesIn: 5, MessagesOut: 5}
		if asked == "den" {
			st.MessagesIn, st.MessagesOut = math.MaxUint64, math.MaxUint64-1
		}
		return st
	})
	is.NoErr(h.Bus().Publish(context.Background(), protocol.Connection,
		protocol.ConnectionEvent{Channel: "den", State: protocol.StateConnected}))
	var r roseytest.Reply
	for i := 0; ; i++ { // once the plugin has heard of den (another subscription than the command's)
		h.Say("boss", "!admin status")
		r = h.Expect("📊 Uptime ")
		if strings.Contains(r.Message, "connected to den") {
			break
		}
		if i == 50 {
			t.Fatalf("the status never showed den: %s", r.Message)
		}
	}
	want := fmt.Sprintf("messages in %d, out %d", uint64(math.MaxUint64), uint64(math.MaxUint64))
	is.True(strings.Contains(r.Message, want)) // not 4 and 3
}

// TestStatusSkipsAStoppedConnector: a channel whose connector said it
// stopped is not asked (its answer would never come, and the status would
// wait for it): it is shown from its last word, as not answering, beside
// the figures of the connectors that are there.
func TestStatusSkipsAStoppedConnector(t *testing.T) {
	is := is.New(t)
	h := start(t)
	srv := h.CyTube()
	den, err := cytube.New(h.Bus(), cytube.Config{Server: srv.URL, Channel: "den", User: "RoseyBot",
		BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond})
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	is.NoErr(den.Start(ctx))
	is.NoErr(srv.WaitUser(ctx, "den", "RoseyBot"))
	is.NoErr(den.Stop(ctx))

	// Once the plugin has heard den's connector stop (the status says so),
	// a status asks only the live connector.
	for {
		h.Say("boss", "!admin status")
		if r := h.Expect("📊 Uptime "); strings.Contains(r.Message, "disconnected to den (stopped)") {
			break
		}
	}
	asked, err := h.Bus().Conn().SubscribeSync(h.Bus().Subject(protocol.StateConnector))
	is.NoErr(err)
	defer func() { _ = asked.Unsubscribe() }()
	is.NoErr(h.Bus().Flush(ctx))
	h.Say("boss", "!admin status")
	r := h.Expect("📊 Uptime ")
	states := r.Message[strings.Index(r.Message, "CyTube: "):]
	states = states[:strings.Index(states, " · ")]
	parts := strings.Split(strings.TrimPrefix(states, "CyTube: "), "; ")
	is.Equal(len(parts), 2)
	is.True(strings.HasPrefix(parts[0], "disconnected to den (stopped), for ")) // shown all the same
	is.True(strings.HasSuffix(parts[0], ", not answering"))
	is.True(strings.HasPrefix(parts[1], "connected to "+roseytest.Channel+", for "))
	is.True(!strings.Contains(parts[1], "not answering"))
	is.True(strings.Contains(r.Message, "messages in ") && !strings.Contains(r.Message, "no connector answered")) // the live one did
	// The requests came before the answer, on the connection the answer
	// came by: they are queued already.
	var channels []string
	for {
		m, err := asked.NextMsg(50 * time.Millisecond)
		if err != nil {
			break
		}
		var req protocol.ChannelRequest
		is.NoErr(json.Unmarshal(m.Data, &req))
		channels = append(channels, req.Channel)
	}
	is.Equal(channels, []string{roseytest.Channel})
}
