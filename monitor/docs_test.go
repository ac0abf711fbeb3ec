package monitor_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v2"
)

// metricName finds metric names in PromQL.
var metricName = regexp.MustCompile(`\b((?:rosey|go|process)_[a-z0-9_]+)`)

// served returns the names of every metric a bot serves, histograms with
// their _bucket, _sum and _count series.
func served(t *testing.T) map[string]bool {
	t.Helper()
	h := monitored(t, echo{})
	h.CyTube()                 // a connector, gathered over NATS like one in another process
	h.Say("alice", "!echo hi") // counters and histograms with labels show once used
	h.Expect("echo hi")
	// The router counts a command just after sending its answer; the
	// connector's and the database's figures come with the next gathering.
	fams, _ := scrapeUntil(t, h.Bot().MonitorAddr(), "the command, the connector and the database", func(f map[string]*dto.MetricFamily) bool {
		return f["rosey_commands_total"] != nil && f["rosey_connector_pace_delay_seconds"] != nil &&
			f["rosey_database_operation_duration_seconds"] != nil
	})
	names := map[string]bool{}
	for name := range fams {
		names[name] = true
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			names[name+s] = true
		}
	}
	return names
}

// TestReadmeListsServedMetrics keeps the README's table of metrics to the
// metrics the bot serves, and makes it list every rosey_ metric.
func TestReadmeListsServedMetrics(t *testing.T) {
	names := served(t)
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `rosey_") {
			continue
		}
		cell := strings.SplitN(line, "|", 3)[1]
		for _, n := range metricName.FindAllString(cell, -1) {
			listed[n] = true
			if !names[n] {
				t.Errorf("README lists %s, which is not served", n)
			}
		}
	}
	for n := range names {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(n, "rosey_") && n == base && !listed[n] {
			t.Errorf("%s is served but not in the README's table", n)
		}
	}
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
