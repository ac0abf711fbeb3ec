package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/router"
)

// A program that assembles components itself serves their metrics and
// readiness with a Server.
func ExampleNewServer() {
	m := monitor.NewMetrics()
	m.CommandDone(router.Outcome{Channel: "mychannel", Plugin: "dice-roller", Command: "roll",
		Result: router.ResultAnswered, Latency: 8 * time.Millisecond})
	srv, err := monitor.NewServer(monitor.Config{
		Listen:  "127.0.0.1:0",
		Metrics: m,
		Checks: []monitor.Check{
			{Name: "database", Run: func(context.Context) error { return nil }},
			{Name: "connector", Run: func(context.Context) error { return errors.New("channel mychannel: reconnecting") }},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop(context.Background())

	resp, err := http.Get("http://" + srv.Addr() + "/readyz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, "\n", string(body))
	// Output:
	// 503
	// database: ok
	// connector: channel mychannel: reconnecting
}

// Metrics is a router.Observer: hand it to the router and every command is
// counted by plugin, command and outcome.
func ExampleMetrics_CommandDone() {
	m := monitor.NewMetrics()
	cfg := router.Config{Observer: m}
	_ = cfg // router.New(bus, dir, cfg)
	m.CommandDone(router.Outcome{Channel: "mychannel", Plugin: "8ball", Command: "8ball", Result: router.ResultTimeout, Latency: 5 * time.Second})
	fams, _ := m.Registry().Gather()
	for _, f := range fams {
		if f.GetName() == "rosey_commands_total" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output: rosey_commands_total 1
}

// An Activity keeps the last minutes of commands for the dashboard; a
// snapshot reads the rates, the percentiles and the latest commands.
func ExampleActivity() {
	a := monitor.NewActivity()
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	for i := 1; i <= 10; i++ {
		a.Add(now.Add(-time.Duration(i)*time.Second), router.Outcome{Channel: "mychannel", Plugin: "dice-roller",
			Command: "roll", Result: router.ResultAnswered, Latency: time.Duration(i) * time.Millisecond})
	}
	a.Add(now, router.Outcome{Channel: "mychannel", Plugin: "8ball", Command: "8ball",
		Result: router.ResultTimeout, Latency: 5 * time.Second})

	s := a.Snapshot(now)
	fmt.Printf("%.2f commands/s, p50 %v, p99 %v\n", s.PerSecond, s.LastMinute.P50, s.LastMinute.P99)
	fmt.Println("latest:", s.Recent[0].Plugin, s.Recent[0].Result)
	fmt.Println("errors:", len(s.Errors))
	fmt.Println("dice-roller p95:", s.Plugins["dice-roller"].Latency.P95)
	// Output:
	// 0.18 commands/s, p50 6ms, p99 5s
	// latest: 8ball timeout
	// errors: 1
	// dice-roller p95: 10ms
}

// A Gatherer finds every CyTube connector and the database service over
// NATS, in whatever process they run; Metrics exports what it gathers and
// a Server's dashboard shows it.
func ExampleGatherer() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)
	bus, err := eventbus.Connect(ctx, srv.BusConfig("monitor"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close(ctx)

	g, err := monitor.NewGatherer(monitor.GatherConfig{Conn: bus.Conn(), Prefix: bus.Prefix()})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := monitor.NewMetrics()
	if err := m.WatchGatherer(g); err != nil {
		fmt.Println(err)
		return
	}
	if err := g.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer g.Stop(ctx)
	cfg := monitor.Config{Listen: "127.0.0.1:9321", Metrics: m, Connectors: g.ConnectorStates, Database: g.Database}
	_ = cfg // monitor.NewServer(cfg)

	// No connector or database service runs on this bus yet.
	fmt.Println(len(g.Connectors()), "connectors,", len(g.Database()), "database operations")
	// Output: 0 connectors, 0 database operations
}
