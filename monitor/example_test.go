package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

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
