package rosey_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/interleave"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// pong is the trivial plugin of the round-trip benchmark.
type pong struct{}

func (pong) Info() plugin.Info {
	return plugin.Info{Name: "pong", Version: "1.0.0", Commands: []plugin.Command{{Name: "ping"}}}
}
func (pong) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("ping", func(_ context.Context, r *plugin.Request) (string, error) {
		if r.Text != "" {
			return "pong " + r.Text, nil
		}
		return "pong", nil
	})
	return nil
}
func (pong) Stop(context.Context) error { return nil }

func startBot(b *testing.B, cfg rosey.Config) *rosey.Bot {
	b.Helper()
	if cfg.CyTube.Channel == "" && !cfg.Console.Enabled {
		cfg.Components = rosey.CoreComponents() // the benchmark feeds the bus itself
	}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = b.TempDir()
	bot := rosey.New(cfg)
	if err := bot.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bot.Stop(context.Background()) })
	return bot
}

// embeddedConn starts an embedded server and connects to it in process,
// with nats.go's default options unless opts say otherwise.
func embeddedConn(b *testing.B, opts ...nats.Option) *nats.Conn {
	b.Helper()
	srv, err := embedded.Start(context.Background(), embedded.Config{NoListen: true})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(srv.NATS())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close(); _ = srv.Shutdown(context.Background()) })
	return nc
}

// nsPerOp runs fn b.N times and returns the mean time per call.
func nsPerOp(n int, fn func()) float64 {
	start := time.Now()
	for range n {
		fn()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// requestBaseline returns one plain request/reply on an embedded server of
// its own, with nats.go's default options.
func requestBaseline(b *testing.B) func() {
	nc := embeddedConn(b)
	if _, err := nc.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"message":"!ping"}`)
	return func() {
		if _, err := nc.Request("bench.echo", body, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNATSRequestBaseline is a plain request/reply on an embedded server.
func BenchmarkNATSRequestBaseline(b *testing.B) {
	base := requestBaseline(b)
	for b.Loop() {
		base()
	}
}

// commandRoundTrip publishes a chat command and waits for the bot's answer.
func commandRoundTrip(b *testing.B) func() { return commandRoundTripOf(b, rosey.Config{}) }

// commandRoundTripOf is commandRoundTrip for a bot configured by cfg.
func commandRoundTripOf(b *testing.B, cfg rosey.Config) func() {
	cfg.Plugins = []plugin.Plugin{pong{}}
	bot := startBot(b, cfg)
	bus := bot.Bus()
	// The answer is taken off the connection as the baseline's reply is:
	// NATS's read loop hands it straight to the waiting goroutine.
	got := make(chan *nats.Msg, 1)
	if _, err := bus.Conn().ChanSubscribe(bus.Subject(protocol.SendChat), got); err != nil {
		b.Fatal(err)
	}
	_ = bus.Flush(context.Background())
	body := []byte(`{"user":"alice","message":"!ping","channel":"bench","rank":1}`)
	// One deadline for the whole benchmark: a timer per operation would
	// measure the test's bookkeeping.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b.Cleanup(cancel)
	return func() {
		if err := bus.Publish(ctx, protocol.Chat, body); err != nil {
			b.Fatal(err)
		}
		select {
		case m := <-got:
			if !bytes.Contains(m.Data, pongAnswer) { // an error message must not pass for an answer
				b.Fatalf("answer %s, want pong", m.Data)
			}
		case <-ctx.Done():
			b.Fatal("no answer")
		}
	}
}

var pongAnswer = []byte(`"message":"pong"`)

// BenchmarkCommandRoundTrip: cytube.chat with a command → router → plugin →
// cytube.send.chat. It also measures the baseline in the same run and
// reports the ratio (goal ≤ 3).
func BenchmarkCommandRoundTrip(b *testing.B) {
	measureAgainst(b, commandRoundTrip(b), requestBaseline(b))
}

// BenchmarkCommandRoundTripMetrics is the round trip with metrics on (the
// monitor listening, every command counted and timed), reported against
// the same round trip with metrics off, measured in the same run
// (goal ≤ 1.10).
func BenchmarkCommandRoundTripMetrics(b *testing.B) {
	var on rosey.Config
	on.HTTP.Listen = "127.0.0.1:0"
	measureAgainst(b, commandRoundTripOf(b, on), commandRoundTrip(b))
}

// measureAgainst warms up op and base, times op as the benchmark, then
// reports op's time over base's as x-baseline, both measured in
// alternating slices so that a noisy stretch of the machine hits both
// alike.
func measureAgainst(b *testing.B, op, base func()) {
	b.Helper()
	for range 200 {
		op()
		base()
	}
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.StopTimer()
	r, err := interleave.Ratio(max(b.N, 1000), func(int) error { op(); return nil }, func(int) error { base(); return nil })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r, "x-baseline")
}

// BenchmarkCommandRoundTripFloor is what the round trip's path costs with
// no work at all: the same four deliveries (chat → router → plugin →
// router → send) as bare NATS messages carrying the contract's three
// envelope headers, on one in-process connection. It reports x-baseline
// like BenchmarkCommandRoundTrip, so the two show how much of the ratio
// is the path the architecture prescribes and how much is Rosey's work.
// The hops' connection has the options of the bot's own in-process one
// (no write deadline); the baseline is the same as the round trip's.
func BenchmarkCommandRoundTripFloor(b *testing.B) {
	nc := embeddedConn(b, nats.FlusherTimeout(0))
	hdr := nats.Header{
		eventbus.HeaderCorrelationID: {eventbus.NewCorrelationID()},
		eventbus.HeaderTimestamp:     {time.Now().UTC().Format(time.RFC3339Nano)},
		eventbus.HeaderSource:        {"router"},
	}
	pub := func(subject string, data []byte) {
		if err := nc.PublishMsg(&nats.Msg{Subject: subject, Data: data, Header: hdr}); err != nil {
			b.Fatal(err)
		}
	}
	got := make(chan *nats.Msg, 1)
	for subject, next := range map[string]string{"hop.chat": "hop.command", "hop.command": "hop.reply", "hop.reply": "hop.send"} {
		if _, err := nc.Subscribe(subject, func(m *nats.Msg) { pub(next, m.Data) }); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := nc.ChanSubscribe("hop.send", got); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"user":"alice","message":"!ping","channel":"bench","rank":1}`)
	op := func() {
		pub("hop.chat", body)
		<-got
	}
	measureAgainst(b, op, requestBaseline(b))
}

// BenchmarkEmbeddedNATSBaseline starts and shuts down a bare embedded server.
func BenchmarkEmbeddedNATSBaseline(b *testing.B) {
	for b.Loop() {
		srv, err := embedded.Start(context.Background(), embedded.Config{NoListen: true})
		if err != nil {
			b.Fatal(err)
		}
		_ = srv.Shutdown(context.Background())
	}
}

func startStop(b *testing.B, dir string) {
	cfg := rosey.Config{Plugins: consolePlugins()}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = dir
	cfg.Console.Enabled = true
	cfg.Console.In = strings.NewReader("")
	cfg.Console.Out = discard{}
	bot := rosey.New(cfg)
	if err := bot.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := bot.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkStartup is New + Start + Stop of the console bot with its
// plugins, reporting the ratio to a bare embedded server's start and stop
// measured in the same run (goal ≤ 10).
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	startStop(b, dir) // create and migrate the database once
	b.ResetTimer()
	for b.Loop() {
		startStop(b, dir)
	}
	b.StopTimer()
	// Interleave the two so that machine noise hits both alike.
	var bot, base float64
	for range 5 {
		bot += nsPerOp(10, func() { startStop(b, dir) })
		base += nsPerOp(50, func() {
			srv, err := embedded.Start(context.Background(), embedded.Config{NoListen: true})
			if err != nil {
				b.Fatal(err)
			}
			_ = srv.Shutdown(context.Background())
		})
	}
	b.ReportMetric(bot/base, "x-baseline")
	b.ReportMetric(bot/5/1e6, "ms-startup")
}

// BenchmarkRouterChatThroughput pushes non-command chat lines through the
// router and reports its throughput as a share of raw NATS publish
// throughput (publisher to one subscriber) measured in the same run
// (goal ≥ 50%).
func BenchmarkRouterChatThroughput(b *testing.B) {
	const batch = 20000
	line := []byte(`{"user":"alice","message":"just chatting about the video, nothing to see here","channel":"bench","rank":1,"time":1795843084650}`)

	bot := startBot(b, rosey.Config{Plugins: []plugin.Plugin{pong{}}})
	bus := bot.Bus()
	// The router subscribes on the bus connection; wait until it has seen
	// each batch by counting deliveries on the same subscription path.
	before := func() uint64 { return bus.Stats().Received }
	routerRun := func() {
		start := before()
		for range batch {
			if err := bus.Conn().Publish(protocol.Chat, line); err != nil {
				b.Fatal(err)
			}
		}
		for before()-start < batch {
			time.Sleep(50 * time.Microsecond)
		}
	}

	nc := embeddedConn(b)
	var raw atomic.Uint64
	_, _ = nc.Subscribe("bench.chat", func(*nats.Msg) { raw.Add(1) })
	rawRun := func() {
		start := raw.Load()
		for range batch {
			if err := nc.Publish("bench.chat", line); err != nil {
				b.Fatal(err)
			}
		}
		for raw.Load()-start < batch {
			time.Sleep(50 * time.Microsecond)
		}
	}
	routerRun()
	rawRun()
	b.ResetTimer()
	for b.Loop() {
		routerRun()
	}
	b.StopTimer()
	routerNs := nsPerOp(5, routerRun)
	rawNs := nsPerOp(5, rawRun)
	b.ReportMetric(rawNs/routerNs*100, "%-of-raw")
	b.ReportMetric(batch/(routerNs/1e9), "lines/s")
	_ = fmt.Sprint()
}
