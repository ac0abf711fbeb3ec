package monitor_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/roseytest"
)

// echo answers !echo, and fails !fail.
type echo struct{}

func (echo) Info() plugin.Info {
	return plugin.Info{Name: "echo", Version: "1.0.0",
		Commands: []plugin.Command{{Name: "echo"}, {Name: "fail"}, {Name: "boss", MinRank: 3}}}
}

func (echo) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("echo", func(_ context.Context, r *plugin.Request) (string, error) { return "echo " + r.Text, nil })
	h.Handle("fail", func(context.Context, *plugin.Request) (string, error) { return "", plugin.UserError("no") })
	h.Handle("boss", func(context.Context, *plugin.Request) (string, error) { return "yes boss", nil })
	return nil
}

func (echo) Stop(context.Context) error { return nil }

// broken fails to start.
type broken struct{}

func (broken) Info() plugin.Info {
	return plugin.Info{Name: "broken", Version: "1.0.0", Commands: []plugin.Command{{Name: "broken"}}}
}
func (broken) Start(context.Context, *plugin.Host) error { return errors.New("no config for you") }
func (broken) Stop(context.Context) error                { return nil }

func monitored(t *testing.T, ps ...plugin.Plugin) *roseytest.Harness {
	return roseytest.New(t, roseytest.WithPlugins(ps...), roseytest.WithConfig(func(c *rosey.Config) {
		c.HTTP.Listen = "127.0.0.1:0"
	}))
}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, addr string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	code, body := get(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams, body
}

// value finds the sample of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsCountCommandsByOutcome(t *testing.T) {
	is := is.New(t)
	h := monitored(t, echo{})
	addr := h.Bot().MonitorAddr()
	is.True(addr != "")
	h.Say("alice", "!echo hi")
	h.Expect("echo hi")
	h.Say("alice", "!fail")
	h.Expect("❌ no")
	h.Say("alice", "!boss")
	h.Expect("⛔")
	h.Say("alice", "!nosuch")
	h.Expect("Unknown command")
	h.ExpectNone()

	fams, body := scrape(t, addr)
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"plugin": "echo", "command": "echo", "outcome": "answered", "channel": roseytest.Channel}, 1},
		{map[string]string{"plugin": "echo", "command": "fail", "outcome": "error"}, 1},
		{map[string]string{"plugin": "echo", "command": "boss", "outcome": "refused_rank"}, 1},
		{map[string]string{"plugin": "", "command": "", "outcome": "unknown"}, 1},
	} {
		got, ok := value(fams, "rosey_commands_total", c.labels)
		if !ok || got != c.want {
			t.Fatalf("rosey_commands_total%v = %v (found %v), want %v\n%s", c.labels, got, ok, c.want, body)
		}
	}
	n, ok := value(fams, "rosey_command_duration_seconds", map[string]string{"plugin": "echo"})
	is.True(ok)
	is.Equal(n, 3.0) // answered, error and refused
	for _, name := range []string{"rosey_commands_waiting", "rosey_nats_messages_total", "rosey_nats_bytes_total",
		"rosey_plugin_up", "rosey_plugin_requests_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	up, ok := value(fams, "rosey_plugin_up", map[string]string{"plugin": "echo"})
	is.True(ok)
	is.Equal(up, 1.0)
	// No user name or free text in any label.
	is.True(!strings.Contains(body, "alice"))
	is.True(!strings.Contains(body, "nosuch"))

	problems, err := promlint.New(strings.NewReader(body)).Lint()
	is.NoErr(err)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "rosey_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	is := is.New(t)
	h := monitored(t, echo{})
	addr := h.Bot().MonitorAddr()
	code, body := get(t, addr, "/healthz")
	is.Equal(code, http.StatusOK)
	is.Equal(body, "ok\n")
	code, body = get(t, addr, "/readyz")
	is.Equal(code, http.StatusOK)
	is.True(strings.Contains(body, "nats: ok"))
	is.True(strings.Contains(body, "plugins: ok"))
	is.True(strings.Contains(body, "database: ok"))
}

func TestNotReadyNamesTheFailedPluginAndWhy(t *testing.T) {
	is := is.New(t)
	h := monitored(t, echo{}, broken{})
	code, body := get(t, h.Bot().MonitorAddr(), "/readyz")
	is.Equal(code, http.StatusServiceUnavailable)
	is.True(strings.Contains(body, "plugins: broken failed:"))
	is.True(strings.Contains(body, "no config for you"))
	is.True(strings.Contains(body, "nats: ok"))
}

func TestNoListenerUnlessConfigured(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(echo{}))
	if addr := h.Bot().MonitorAddr(); addr != "" {
		t.Fatalf("listening on %s without http.listen", addr)
	}
}

func TestServerConfigValidation(t *testing.T) {
	is := is.New(t)
	for _, cfg := range []monitor.Config{
		{},
		{Listen: "9321"},
		{Listen: "127.0.0.1:0", CheckTimeout: -1},
		{Listen: "127.0.0.1:0", Checks: []monitor.Check{{Name: "x"}}},
	} {
		_, err := monitor.NewServer(cfg)
		is.True(errors.Is(err, monitor.ErrInvalidConfig))
	}
}

func TestWatchingTwiceIsAnError(t *testing.T) {
	is := is.New(t)
	m := monitor.NewMetrics()
	is.NoErr(m.WatchPlugins(func() []supervisor.Status { return nil }))
	is.True(errors.Is(m.WatchPlugins(func() []supervisor.Status { return nil }), monitor.ErrWatched))
}
