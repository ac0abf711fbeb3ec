package rosey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/internal/interleave"
	"github.com/roseybot/rosey/plugin"
)

// echoServer is a plain websocket echo server: the baseline's far end.
func echoServer(tb testing.TB) *websocket.Conn {
	tb.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			t, b, err := ws.ReadMessage()
			if err != nil || ws.WriteMessage(t, b) != nil {
				return
			}
		}
	}))
	tb.Cleanup(srv.Close)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close() })
	return ws
}

// echoRoundTrips measures n websocket round trips of a chat-sized frame.
func echoRoundTrips(tb testing.TB, ws *websocket.Conn, n int) time.Duration {
	frame := []byte(`42["chatMsg",{"msg":"!ping","meta":{}}]`)
	start := time.Now()
	for range n {
		if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkWebsocketEchoBaseline is one plain websocket round trip on this
// machine: the baseline of BenchmarkCyTubeEndToEnd.
func BenchmarkWebsocketEchoBaseline(b *testing.B) {
	ws := echoServer(b)
	b.ResetTimer()
	echoRoundTrips(b, ws, b.N)
}

// BenchmarkCyTubeEndToEnd: another user, on a websocket of their own,
// says "!ping" in a channel of the fake CyTube server; the whole bot
// (connector, router, a trivial plugin, pacing off) answers; the time runs
// until the user's socket receives the answer. Reported in the same run:
//
//   - x-baseline: over one plain websocket round trip (the goal is ≤ 3);
//   - floor-x-baseline: the least the path can cost, over the same
//     baseline. The path holds four websocket legs (user → server → bot →
//     server → user: two round trips) and four NATS deliveries (connector →
//     router → plugin → router → connector: two request round trips), so
//     its floor is 2 websocket round trips + 2 NATS requests on this
//     machine, before any work at all.
func BenchmarkCyTubeEndToEnd(b *testing.B) {
	scfg := cytubetest.Fast()
	scfg.ChatBurst, scfg.ChatSustained = 1<<30, 1e9 // no flood control in the way
	srv := cytubetest.NewServer(scfg)
	defer srv.Close()
	cfg := rosey.Config{Plugins: []plugin.Plugin{pong{}}}
	cfg.CyTube = cytube.Config{Server: srv.URL, Channel: "bench", User: "bot", Unpaced: true, QueueSize: 1000}
	startBot(b, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := srv.WaitUser(ctx, "bench", "bot"); err != nil {
		b.Fatal(err)
	}
	alice, err := srv.Dial(ctx, "bench", "alice")
	if err != nil {
		b.Fatal(err)
	}
	defer alice.Close()
	// Each line differs: the connector drops a line identical to one the
	// same user sent in the same millisecond (a replay, as far as it can tell).
	roundTrip := func(i int) {
		n := strconv.Itoa(i)
		if err := alice.Chat("!ping " + n); err != nil {
			b.Fatal(err)
		}
		if _, err := alice.WaitChat(ctx, func(m cytubetest.Message) bool { return m.From == "bot" && m.HTML == "pong "+n }); err != nil {
			b.Fatalf("no answer to !ping %s: %v", n, err)
		}
	}
	ws := echoServer(b)
	nc := embeddedConn(b)
	_, _ = nc.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	request := func() {
		if _, err := nc.Request("bench.echo", []byte(`{"message":"!ping"}`), 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	op := func() { i++; roundTrip(i) }
	for range 50 { // warm up connections and caches
		op()
		echoRoundTrips(b, ws, 1)
		request()
	}
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.StopTimer()
	// The ratios come from the three measured in alternating slices, so
	// that a noisy stretch of the machine hits all alike.
	ns, err := interleave.Times(max(b.N, 1000),
		func(int) error { op(); return nil },
		func(int) error { echoRoundTrips(b, ws, 1); return nil },
		func(int) error { request(); return nil })
	if err != nil {
		b.Fatal(err)
	}
	e2e, base, req := ns[0], ns[1], ns[2]
	floor := 2*base + 2*req
	b.ReportMetric(e2e/base, "x-baseline")
	b.ReportMetric(floor/base, "floor-x-baseline")
}
