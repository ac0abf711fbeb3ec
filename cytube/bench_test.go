package cytube_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
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
	frame := []byte(`42["chatMsg",{"username":"alice","msg":"!ping 12345","meta":{},"time":1700000000000}]`)
	start := time.Now()
	for i := 0; i < n; i++ {
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
// machine: the floor for anything that goes through CyTube.
func BenchmarkWebsocketEchoBaseline(b *testing.B) {
	ws := echoServer(b)
	b.ResetTimer()
	echoRoundTrips(b, ws, b.N)
}

// BenchmarkCyTubeEndToEnd is another user's chat line on the fake server →
// connector → bus → a responder → bus → connector → the reply delivered by
// the server, with pacing off. It also measures the websocket baseline in
// the same run and reports the ratio as x-baseline.
func BenchmarkCyTubeEndToEnd(b *testing.B) {
	scfg := cytubetest.Fast()
	scfg.ChatBurst, scfg.ChatSustained = 1<<30, 1e9 // pacing off on both sides
	srv := cytubetest.NewServer(scfg)
	defer srv.Close()
	bus := newBus(b)
	_, err := bus.Subscribe(protocol.Chat, func(ctx context.Context, ev *eventbus.Event) {
		var m protocol.ChatMessage
		if ev.Decode(&m) == nil && strings.HasPrefix(m.Message, "!ping ") {
			_ = bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: "pong " + m.Message[6:]})
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(srv)
	cfg.Unpaced = true
	cfg.QueueSize = 1000
	conn, err := cytube.New(bus, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := conn.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer conn.Stop(ctx)
	if err := srv.WaitUser(ctx, "test", "bot"); err != nil {
		b.Fatal(err)
	}
	msgs, stop := srv.Watch(64)
	defer stop()
	roundTrip := func(i int) {
		n := strconv.Itoa(i)
		srv.Say("test", "alice", "!ping "+n)
		want := "pong " + n
		for {
			select {
			case m := <-msgs:
				if m.From == "bot" && m.HTML == want {
					return
				}
			case <-ctx.Done():
				b.Fatalf("no reply to !ping %s (state %s)", n, conn.State())
			}
		}
	}
	for i := 0; i < 50; i++ { // warm up connections and caches
		roundTrip(-i - 1)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		roundTrip(i)
	}
	e2e := time.Since(start)
	b.StopTimer()

	ws := echoServer(b)
	echoRoundTrips(b, ws, 100)
	base := echoRoundTrips(b, ws, b.N)
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(e2e)/float64(base), "x-baseline")
}
