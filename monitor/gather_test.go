package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// servePluginEnv makes this test binary serve remoteEcho as a plugin
// process (see TestMain), for the supervised-process tests.
const servePluginEnv = "ROSEY_MONITOR_TEST_SERVE_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(servePluginEnv) == "1" {
		if err := supervisor.ServeArgs(context.Background(), remoteEcho{}, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// remoteEcho answers !recho in a process of its own.
type remoteEcho struct{}

func (remoteEcho) Info() plugin.Info {
	return plugin.Info{Name: "remote-echo", Version: "1.0.0", Commands: []plugin.Command{{Name: "recho"}}}
}

func (remoteEcho) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("recho", func(_ context.Context, r *plugin.Request) (string, error) { return "far " + r.Text, nil })
	return nil
}

func (remoteEcho) Stop(context.Context) error { return nil }

// scrapeUntil scrapes the bot's /metrics until ok holds for them.
func scrapeUntil(t *testing.T, addr, what string, ok func(map[string]*dto.MetricFamily) bool) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, body := scrape(t, addr)
		if ok(fams) {
			return fams, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("never in /metrics: %s\n%s", what, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConnectorAndDatabaseFiguresInMetrics: a connector on a NATS
// connection of its own (as in another process) and the database service
// appear in the bot's /metrics from what they serve over NATS: the
// channel's state, lines in and out, the pace, and operations by kind.
func TestConnectorAndDatabaseFiguresInMetrics(t *testing.T) {
	is := is.New(t)
	h := monitored(t, echo{})
	srv := h.CyTube()
	addr := h.Bot().MonitorAddr()
	ch := map[string]string{"channel": roseytest.Channel}
	scrapeUntil(t, addr, "the connector, connected", func(f map[string]*dto.MetricFamily) bool {
		v, ok := value(f, "rosey_connector_connected", ch)
		return ok && v == 1
	})

	h.Say("alice", "!echo hi") // answered in the fake channel by the connector
	h.Expect("echo hi")
	srv.Say(roseytest.Channel, "bob", "a line in the channel")
	db := h.DB()
	for i := range 3 {
		_, err := db.Set(context.Background(), "notes", database.IntID(int64(i+1)), map[string]int{"n": i})
		is.NoErr(err)
	}
	var out map[string]float64
	is.NoErr(db.Get(context.Background(), "notes", database.IntID(1), &out))

	fams, body := scrapeUntil(t, addr, "the lines and the operations", func(f map[string]*dto.MetricFamily) bool {
		in, _ := value(f, "rosey_connector_messages_total", map[string]string{"channel": roseytest.Channel, "direction": "in"})
		said, _ := value(f, "rosey_connector_messages_total", map[string]string{"channel": roseytest.Channel, "direction": "out"})
		sets, _ := value(f, "rosey_database_operation_duration_seconds", map[string]string{"operation": "set"})
		gets, _ := value(f, "rosey_database_operation_duration_seconds", map[string]string{"operation": "get"})
		return in >= 1 && said >= 1 && sets >= 3 && gets >= 1
	})
	for _, name := range []string{"rosey_connector_users", "rosey_connector_queued_messages", "rosey_connector_pace_delay_seconds",
		"rosey_connector_cooldowns_total", "rosey_connector_refused_total", "rosey_connector_reconnects_total",
		"rosey_connector_dropped_total", "rosey_database_errors_total", "rosey_plugin_restarts_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	users, _ := value(fams, "rosey_connector_users", ch)
	is.True(users >= 2) // bob and the bot
	// The time of the operations is there, as a summary's sum.
	for _, m := range fams["rosey_database_operation_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "operation" && l.GetValue() == "set" {
				is.True(m.GetSummary().GetSampleSum() > 0)
			}
		}
	}
	// Labels hold channels and operations, never a user or a line.
	is.True(!strings.Contains(body, "bob"))
	is.True(!strings.Contains(body, "a line in"))
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	is.NoErr(err)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "rosey_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

// liar answers $SRV.STATS requests for service on nc with what says.
func liar(t *testing.T, nc *nats.Conn, service string, says func(i int) any) {
	t.Helper()
	i := 0
	sub, err := nc.Subscribe("$SRV.STATS."+service, func(m *nats.Msg) {
		i++
		b, _ := json.Marshal(says(i))
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func connectorStats(id, prefix, channel string, data any) micro.Stats {
	raw, _ := json.Marshal(data)
	return micro.Stats{
		ServiceIdentity: micro.ServiceIdentity{Name: protocol.ConnectorService, ID: id, Version: "1.0.0",
			Metadata: map[string]string{protocol.MetaChannel: channel, protocol.MetaPrefix: prefix}},
		Type:      micro.StatsResponseType,
		Endpoints: []*micro.EndpointStats{{Name: "connector", Subject: prefix + protocol.StateConnector, Data: raw}},
	}
}

func natsPair(t *testing.T) (*nats.Conn, *nats.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*nats.Conn
	for _, name := range []string{"monitor", "component"} {
		bus, err := eventbus.Connect(ctx, ns.BusConfig(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bus.Close(context.Background()) })
		conns = append(conns, bus.Conn())
	}
	t.Cleanup(func() { _ = ns.Shutdown(context.Background()) })
	return conns[0], conns[1]
}

// TestGathererTrustsNoStranger: what answers $SRV.STATS.cytube-connector
// is believed only as far as it can be checked: another bot's (another
// prefix), a channel CyTube would not allow, figures of another channel
// than the instance says, are ignored, and however many instances and
// channels answer, the gatherer keeps a bounded number.
func TestGathererTrustsNoStranger(t *testing.T) {
	is := is.New(t)
	mine, other := natsPair(t)
	ok := protocol.ConnectorStats{Channel: "lounge", State: protocol.StateConnected, MessagesIn: 3}
	liar(t, other, protocol.ConnectorService, func(i int) any {
		switch i % 5 {
		case 0:
			return connectorStats(fmt.Sprint("other-bot-", i), "bot2.", "lounge", ok)
		case 1:
			return connectorStats(fmt.Sprint("bad-name-", i), "", "a channel with spaces", ok)
		case 2:
			return connectorStats(fmt.Sprint("mismatch-", i), "", "elsewhere", ok)
		case 3:
			return "not stats at all"
		}
		// A flood of channels, a new one each time.
		return connectorStats(fmt.Sprint("flood-", i), "", fmt.Sprint("chan", i), protocol.ConnectorStats{Channel: fmt.Sprint("chan", i), State: protocol.StateConnected})
	})
	g, err := monitor.NewGatherer(monitor.GatherConfig{Conn: mine, Interval: time.Millisecond})
	is.NoErr(err)
	is.NoErr(g.Start(context.Background()))
	defer g.Stop(context.Background())

	// Once the flood has had time to fill the bound (many asks), nothing
	// past it is kept and nothing false got in.
	deadline := time.Now().Add(30 * time.Second)
	for len(g.Connectors()) < monitor.MaxGatheredChannels {
		if time.Now().After(deadline) {
			t.Fatalf("the flood never reached the bound: %d channels", len(g.Connectors()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more asks and answers, past the bound
	cs := g.Connectors()
	is.Equal(len(cs), monitor.MaxGatheredChannels)
	for _, c := range cs {
		is.True(strings.HasPrefix(c.Channel, "chan")) // no lounge (another bot's), no bad or mismatched name
	}
}

// TestGoneConnectorIsListedDisconnected: a connector that stops answering
// (its process ended) stays listed, disconnected, with the reason; its
// metric says 0, so the "bot disconnected" alert fires.
func TestGoneConnectorIsListedDisconnected(t *testing.T) {
	is := is.New(t)
	mine, other := natsPair(t)
	answering := make(chan bool, 1)
	answering <- true
	liar(t, other, protocol.ConnectorService, func(int) any {
		on := <-answering
		answering <- on
		if !on {
			return nil // a stale process: answers nothing usable
		}
		return connectorStats("conn-1", "", "lounge", protocol.ConnectorStats{Channel: "lounge", State: protocol.StateConnected, MessagesOut: 7})
	})
	g, err := monitor.NewGatherer(monitor.GatherConfig{Conn: mine, Interval: 20 * time.Millisecond, StaleAfter: 200 * time.Millisecond})
	is.NoErr(err)
	m := monitor.NewMetrics()
	is.NoErr(m.WatchGatherer(g))
	is.NoErr(g.Start(context.Background()))
	defer g.Stop(context.Background())
	connected := func() float64 {
		fams, err := m.Registry().Gather()
		is.NoErr(err)
		for _, f := range fams {
			if f.GetName() == "rosey_connector_connected" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	deadline := time.Now().Add(30 * time.Second)
	for connected() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the connector never showed connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-answering
	answering <- false
	for connected() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the silent connector still shows connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cs := g.Connectors()
	is.Equal(len(cs), 1)
	is.Equal(cs[0].Channel, "lounge")
	is.Equal(cs[0].State, protocol.StateDisconnected)
	is.True(strings.Contains(cs[0].Reason, "has not answered since"))
	is.Equal(cs[0].MessagesOut, uint64(7)) // counters as last seen
}

// TestPluginRestartsCounted: a supervised plugin process that dies is
// started again, and /metrics counts the restart.
func TestPluginRestartsCounted(t *testing.T) {
	is := is.New(t)
	self, err := os.Executable()
	is.NoErr(err)
	var bot *rosey.Bot
	proc := supervisor.NewProcess(supervisor.ProcessConfig{Info: remoteEcho{}.Info(), Path: self,
		Env: []string{servePluginEnv + "=1"}, EnvFunc: func() []string { return supervisor.BusEnv(bot.ClientConfig()) },
		BackoffMin: 10 * time.Millisecond})
	cfg := rosey.Config{Plugins: []plugin.Plugin{proc}, Components: rosey.CoreComponents()}
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.Database.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	bot = rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())
	addr := bot.MonitorAddr()
	plug := map[string]string{"plugin": "remote-echo"}
	scrapeUntil(t, addr, "the plugin process, up", func(f map[string]*dto.MetricFamily) bool {
		up, _ := value(f, "rosey_plugin_up", plug)
		n, ok := value(f, "rosey_plugin_restarts_total", plug)
		return up == 1 && ok && n == 0
	})
	pid := proc.PID()
	is.True(pid > 0)
	child, err := os.FindProcess(pid)
	is.NoErr(err)
	is.NoErr(child.Kill())
	scrapeUntil(t, addr, "the restart", func(f map[string]*dto.MetricFamily) bool {
		n, _ := value(f, "rosey_plugin_restarts_total", plug)
		return n == 1
	})
}

// TestDashboardChartsGrowthNotTotals: a connector and a database service
// that ran long before the monitor started (large totals) are charted from
// what they do afterwards; their metrics keep the totals.
func TestDashboardChartsGrowthNotTotals(t *testing.T) {
	is := is.New(t)
	mine, other := natsPair(t)
	extra := make(chan uint64, 1)
	extra <- 0
	more := func() uint64 { n := <-extra; extra <- n; return n }
	liar(t, other, protocol.ConnectorService, func(int) any {
		n := more()
		return connectorStats("conn-1", "", "lounge", protocol.ConnectorStats{Channel: "lounge", State: protocol.StateConnected,
			MessagesIn: 100000 + n, MessagesOut: 5000 + 2*n})
	})
	liar(t, other, database.ServiceName, func(int) any {
		return micro.Stats{ServiceIdentity: micro.ServiceIdentity{Name: database.ServiceName, ID: "db-1", Version: "1.0.0"},
			Type: micro.StatsResponseType, Endpoints: []*micro.EndpointStats{
				{Name: "set", Subject: database.SubjectSet, NumRequests: 70000 + int(more()), ProcessingTime: time.Minute},
				{Name: "ns-set", Subject: "database.*.set", NumRequests: 30000},
			}}
	})
	g, err := monitor.NewGatherer(monitor.GatherConfig{Conn: mine, Interval: 10 * time.Millisecond})
	is.NoErr(err)
	is.NoErr(g.Start(context.Background()))
	defer g.Stop(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for len(g.Connectors()) == 0 || len(g.Database()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing gathered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-extra
	extra <- 3 // three more lines in, six out, three more sets
	set := func() monitor.DatabaseOp {
		for _, o := range g.Database() {
			if o.Operation == "set" {
				return o
			}
		}
		return monitor.DatabaseOp{}
	}
	for {
		in, out := g.ChatLines()
		if in == 3 && out == 6 && set().Growth == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("growth: in %d, out %d, sets %d", in, out, set().Growth)
		}
		time.Sleep(10 * time.Millisecond)
	}
	is.Equal(set().Requests, uint64(100003)) // both subjects, the totals
	is.Equal(g.Connectors()[0].MessagesIn, uint64(100003))
}

// TestDashboardChartsAllOfANewComponent: a connector and a database
// service that start after the monitor are charted from their start, even
// when their first answer already counts lines and writes (they came up
// between two asks and were busy at once).
func TestDashboardChartsAllOfANewComponent(t *testing.T) {
	is := is.New(t)
	mine, other := natsPair(t)
	g, err := monitor.NewGatherer(monitor.GatherConfig{Conn: mine, Interval: 10 * time.Millisecond})
	is.NoErr(err)
	is.NoErr(g.Start(context.Background()))
	defer g.Stop(context.Background())
	time.Sleep(50 * time.Millisecond) // a few asks with nobody answering
	started := time.Now()
	conn := connectorStats("conn-new", "", "lounge", protocol.ConnectorStats{Channel: "lounge", State: protocol.StateConnected,
		MessagesIn: 2, MessagesOut: 1})
	conn.Started = started
	liar(t, other, protocol.ConnectorService, func(int) any { return conn })
	liar(t, other, database.ServiceName, func(int) any {
		return micro.Stats{ServiceIdentity: micro.ServiceIdentity{Name: database.ServiceName, ID: "db-new", Version: "1.0.0"},
			Type: micro.StatsResponseType, Started: started, Endpoints: []*micro.EndpointStats{
				{Name: "set", Subject: database.SubjectSet, NumRequests: 4},
			}}
	})
	deadline := time.Now().Add(30 * time.Second)
	for len(g.Connectors()) == 0 || len(g.Database()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing gathered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	in, out := g.ChatLines()
	is.Equal(in, uint64(2))
	is.Equal(out, uint64(1))
	for _, o := range g.Database() {
		if o.Operation == "set" {
			is.Equal(o.Growth, uint64(4))
		}
	}
}
