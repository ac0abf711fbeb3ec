package monitor_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/router"
)

// update is the part of a dashboard update these tests read.
type update struct {
	At      int64 `json:"at"`
	Admin   bool  `json:"admin"`
	Plugins []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Requests int    `json:"requests"`
	} `json:"plugins"`
	Rate struct {
		Total []int `json:"total"`
	} `json:"rate"`
	Latency struct {
		P99 []*float64 `json:"p99_ms"`
	} `json:"latency"`
	Recent []struct {
		Plugin  string `json:"plugin"`
		Command string `json:"command"`
		Result  string `json:"result"`
	} `json:"recent"`
	Connectors []monitor.ConnectorState `json:"connectors"`
	Messages   []struct {
		Name   string    `json:"name"`
		Values []*uint64 `json:"values"`
	} `json:"messages"`
}

// stream reads a dashboard's server-sent events.
type stream struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openEvents(t *testing.T, addr string) *stream {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/events: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("/events Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	return &stream{resp: resp, sc: sc}
}

// next returns the next update event, or an error when the stream ends.
func (s *stream) next() (update, error) {
	var event string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "update":
			var u update
			err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &u)
			return u, err
		}
	}
	if err := s.sc.Err(); err != nil {
		return update{}, err
	}
	return update{}, io.EOF
}

// until reads updates until ok holds, for at most a generous deadline.
func (s *stream) until(t *testing.T, what string, ok func(update) bool) update {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		u, err := s.next()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(u) {
			return u
		}
	}
	t.Fatalf("no update with %s", what)
	return update{}
}

func TestDashboardPageAndAssetsAreEmbedded(t *testing.T) {
	is := is.New(t)
	srv := startServer(t, monitor.Config{Listen: "127.0.0.1:0"})
	for path, want := range map[string]string{
		"/":                 "<title>Rosey dashboard</title>",
		"/assets/app.js":    `new EventSource("/events")`,
		"/assets/style.css": "@media (max-width",
	} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		is.NoErr(err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		is.Equal(resp.StatusCode, http.StatusOK)
		if !strings.Contains(string(body), want) {
			t.Errorf("%s does not contain %q", path, want)
		}
		// Only the page's own scripts and styles run.
		is.True(strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'"))
	}
	code, _ := get(t, srv.Addr(), "/nosuch")
	is.Equal(code, http.StatusNotFound)
}

func startServer(t *testing.T, cfg monitor.Config) *monitor.Server {
	t.Helper()
	srv, err := monitor.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv
}

func TestDashboardEventsFollowTheBot(t *testing.T) {
	is := is.New(t)
	h := monitored(t, echo{})
	ev := openEvents(t, h.Bot().MonitorAddr())
	first, err := ev.next()
	is.NoErr(err)
	is.True(!first.Admin) // no token: read-only
	is.Equal(len(first.Rate.Total), int(monitor.ActivityWindow/time.Second))
	requests := -1
	for _, p := range first.Plugins {
		if p.Name == "echo" {
			is.Equal(p.State, "started")
			requests = p.Requests
		}
	}
	is.True(requests >= 0) // the echo plugin is listed

	h.Say("alice", "!echo hi")
	h.Expect("echo hi")
	h.Say("alice", "!fail")
	h.Expect("❌ no")
	u := ev.until(t, "both commands listed", func(u update) bool { return len(u.Recent) >= 2 })
	is.Equal(u.Recent[0].Command, "fail") // newest first
	is.Equal(u.Recent[0].Result, router.ResultError)
	is.Equal(u.Recent[1].Command, "echo")
	is.Equal(u.Recent[1].Result, router.ResultAnswered)
	var total int
	for _, n := range u.Rate.Total {
		total += n
	}
	is.Equal(total, 2)
	is.True(u.Latency.P99[len(u.Latency.P99)-1] != nil) // the latest step has latencies
	ev.until(t, "echo's requests counted", func(u update) bool {
		for _, p := range u.Plugins {
			if p.Name == "echo" && p.Requests >= requests+2 {
				return true
			}
		}
		return false
	})
}

func TestDashboardEventsEndWhenTheServerStops(t *testing.T) {
	is := is.New(t)
	srv, err := monitor.NewServer(monitor.Config{Listen: "127.0.0.1:0", Metrics: monitor.NewMetrics(), Interval: 50 * time.Millisecond})
	is.NoErr(err)
	is.NoErr(srv.Start(context.Background()))
	ev := openEvents(t, srv.Addr())
	_, err = ev.next()
	is.NoErr(err)
	_, err = ev.next() // updates keep coming
	is.NoErr(err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	is.NoErr(srv.Stop(ctx)) // does not wait for the stream's client
	for {
		if _, err := ev.next(); err != nil {
			break // the stream ended
		}
	}
	is.True(errors.Is(srv.Start(context.Background()), monitor.ErrStopped))
}

func TestDashboardEventsEndWhenTheClientGoesAway(t *testing.T) {
	is := is.New(t)
	// One watcher at a time: the slot frees only when its handler ends.
	srv := startServer(t, monitor.Config{Listen: "127.0.0.1:0", MaxWatchers: 1, Interval: 50 * time.Millisecond})
	ev := openEvents(t, srv.Addr())
	_, err := ev.next()
	is.NoErr(err)
	code, body := get(t, srv.Addr(), "/events")
	is.Equal(code, http.StatusServiceUnavailable)
	is.True(strings.Contains(body, "too many dashboards"))

	ev.resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + srv.Addr() + "/events")
		is.NoErr(err)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event stream of a client that went away never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDashboardChartsRatesPerSecond(t *testing.T) {
	is := is.New(t)
	var sent atomic.Uint64
	srv := startServer(t, monitor.Config{Listen: "127.0.0.1:0", Interval: 100 * time.Millisecond,
		Rates: []monitor.Rate{{Name: "sent", Read: sent.Load}}})
	ev := openEvents(t, srv.Addr())
	// The first sample only sets the baseline; wait for one second's count.
	ev.until(t, "a sampled second", func(u update) bool {
		return len(u.Messages) == 1 && slices.ContainsFunc(u.Messages[0].Values, func(v *uint64) bool { return v != nil })
	})
	sent.Add(42)
	u := ev.until(t, "the 42 messages", func(u update) bool {
		var total uint64
		for _, v := range u.Messages[0].Values {
			if v != nil {
				total += *v
			}
		}
		return total == 42
	})
	is.Equal(u.Messages[0].Name, "sent")
	is.Equal(len(u.Messages[0].Values), int(monitor.ActivityWindow/time.Second))
	is.True(u.Messages[0].Values[0] == nil) // no sample before the server started
}

func TestDashboardAnswersOnlyToKnownHosts(t *testing.T) {
	is := is.New(t)
	srv := startServer(t, monitor.Config{Listen: "127.0.0.1:0", Metrics: monitor.NewMetrics(), Hosts: []string{"rosey.example.org"}})
	_, port, _ := strings.Cut(srv.Addr(), ":")
	status := func(method, path, host string) int {
		req, err := http.NewRequest(method, "http://"+srv.Addr()+path, nil)
		is.NoErr(err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		is.NoErr(err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "rosey.example.org", "ROSEY.example.org:443"} {
		if code := status(http.MethodGet, "/", host); code != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", host, code)
		}
	}
	// A name made to resolve here (DNS rebinding) reads nothing.
	for _, path := range []string{"/", "/api/state", "/events", "/assets/app.js"} {
		is.Equal(status(http.MethodGet, path, "evil.example:"+port), http.StatusMisdirectedRequest)
	}
	is.Equal(status(http.MethodPost, "/api/plugins/echo/reload", "evil.example"), http.StatusMisdirectedRequest)
	// Scrapers and probes may use any name.
	is.Equal(status(http.MethodGet, "/metrics", "evil.example"), http.StatusOK)
	is.Equal(status(http.MethodGet, "/healthz", "evil.example"), http.StatusOK)
}
