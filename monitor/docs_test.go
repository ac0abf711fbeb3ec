package monitor_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/protocol"
)

// metricName finds metric names in PromQL.
var metricName = regexp.MustCompile(`\b((?:rosey|go|process)_[a-z0-9_]+)`)

// served returns the names of every metric a bot serves, histograms with
// their _bucket, _sum and _count series.
func served(t *testing.T) map[string]bool {
	t.Helper()
	h := monitored(t, echo{})
	h.Say("alice", "!echo hi") // counters and histograms with labels show once used
	h.Expect("echo hi")
	// The router counts a command just after sending its answer.
	fams, _ := scrape(t, h.Bot().MonitorAddr())
	for deadline := time.Now().Add(20 * time.Second); fams["rosey_commands_total"] == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the command was never counted")
		}
		time.Sleep(20 * time.Millisecond)
		fams, _ = scrape(t, h.Bot().MonitorAddr())
	}
	// A bot in a CyTube channel also serves its connector's state.
	m := monitor.NewMetrics()
	if err := m.WatchConnector("mychannel", func() string { return protocol.StateConnected }); err != nil {
		t.Fatal(err)
	}
	more, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name := range fams {
		names[name] = true
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			names[name+s] = true
		}
	}
	for _, f := range more {
		names[f.GetName()] = true
	}
	return names
}

// TestDocsQueryServedMetrics keeps the alerting rules and the Grafana
// dashboard in docs/ to metrics the bot really serves.
func TestDocsQueryServedMetrics(t *testing.T) {
	names := served(t)
	check := func(where, expr string) {
		t.Helper()
		found := metricName.FindAllString(expr, -1)
		if len(found) == 0 && !strings.Contains(expr, "up{") {
			t.Errorf("%s: %q queries no metric", where, expr)
		}
		for _, n := range found {
			if !names[n] {
				t.Errorf("%s: %s is not served (%q)", where, n, expr)
			}
		}
	}

	b, err := os.ReadFile("../docs/prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &rules); err != nil {
		t.Fatalf("prometheus-alerts.yml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			check(r.Alert, r.Expr)
			if r.Annotations["summary"] == "" || r.For == "" {
				t.Errorf("%s: wants a for and a summary", r.Alert)
			}
		}
	}
	for _, want := range []string{"RoseyBotDisconnected", "RoseyPluginDown", "RoseyCommandLatencyHigh"} {
		if !alerts[want] {
			t.Errorf("no %s alert", want)
		}
	}

	b, err = os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("the Grafana dashboard has no panels")
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, q := range p.Targets {
			check(p.Title, q.Expr)
		}
	}
}
