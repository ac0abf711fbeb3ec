package monitor_test

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/router"
)

// TestMetricsWrite: what Metrics writes is the Prometheus text format as
// Prometheus's own parser reads it (label values escaped, histogram
// buckets cumulative), with the Go runtime's and the process's metrics
// under the names the Prometheus client gives them, and nothing its
// linter objects to.
func TestMetricsWrite(t *testing.T) {
	is := is.New(t)
	m := monitor.NewMetrics()
	odd := "a \"quoted\" \\ back\nslash"
	for _, d := range []time.Duration{2 * time.Millisecond, 300 * time.Millisecond, 20 * time.Second} {
		m.CommandDone(router.Outcome{Channel: "lounge", Plugin: "dice", Command: odd, Result: router.ResultAnswered, Latency: d})
	}
	m.CommandDone(router.Outcome{Channel: "lounge", Plugin: "dice", Command: "roll", Result: router.ResultTimeout, Latency: time.Second})
	fams, body := written(t, m)

	n, ok := value(fams, "rosey_commands_total", map[string]string{"command": odd, "outcome": "answered"})
	is.True(ok)
	is.Equal(n, 3.0)
	n, ok = value(fams, "rosey_commands_total", map[string]string{"command": "roll", "outcome": "timeout"})
	is.True(ok)
	is.Equal(n, 1.0)

	h := fams["rosey_command_duration_seconds"].GetMetric()[0].GetHistogram()
	is.Equal(h.GetSampleCount(), uint64(4))
	is.True(h.GetSampleSum() > 21.3 && h.GetSampleSum() < 21.31)
	buckets := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	is.Equal(buckets[0.001], uint64(0))
	is.Equal(buckets[0.0025], uint64(1))
	is.Equal(buckets[0.25], uint64(1))
	is.Equal(buckets[0.5], uint64(2))
	is.Equal(buckets[1], uint64(3)) // a bound is inclusive
	is.Equal(buckets[10], uint64(3))
	is.Equal(buckets[math.Inf(1)], uint64(4))
	is.Equal(len(h.GetBucket()), 14)

	want := []string{"go_goroutines", "go_gc_duration_seconds", "go_memstats_heap_inuse_bytes", "go_memstats_alloc_bytes_total"}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		want = append(want, "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds")
		rss, _ := value(fams, "process_resident_memory_bytes", nil)
		is.True(rss > 1<<20) // read from /proc, in bytes
	}
	for _, name := range want {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s in what Metrics writes", name)
		}
	}

	problems, err := promlint.New(strings.NewReader(body)).Lint()
	is.NoErr(err)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
