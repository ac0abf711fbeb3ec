package monitor_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/router"
)

var t0 = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)

func outcome(result string, latency time.Duration) router.Outcome {
	return router.Outcome{Channel: "mychannel", Plugin: "dice", Command: "roll", Result: result, Latency: latency}
}

func TestActivityCountsEachSecondByResult(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	a.Add(t0, outcome(router.ResultAnswered, time.Millisecond))
	a.Add(t0.Add(300*time.Millisecond), outcome(router.ResultAnswered, time.Millisecond))
	a.Add(t0.Add(900*time.Millisecond), outcome(router.ResultTimeout, 5*time.Second))
	a.Add(t0.Add(2*time.Second), outcome(router.ResultRefusedRank, 0))

	s := a.Snapshot(t0.Add(2*time.Second + 500*time.Millisecond))
	is.Equal(len(s.Seconds), int(monitor.ActivityWindow/time.Second))
	last := s.Seconds[len(s.Seconds)-1]
	is.True(last.Time.Equal(t0.Add(2 * time.Second))) // the snapshot's own second is last
	is.Equal(last.Total, 1)
	is.Equal(last.ByResult[router.ResultRefusedRank], 1)
	is.Equal(last.Errors, 0) // a refusal by rank is the user's doing
	is.Equal(s.Seconds[len(s.Seconds)-2].Total, 0)
	first := s.Seconds[len(s.Seconds)-3]
	is.True(first.Time.Equal(t0))
	is.Equal(first.Total, 3)
	is.Equal(first.ByResult[router.ResultAnswered], 2)
	is.Equal(first.ByResult[router.ResultTimeout], 1)
	is.Equal(first.Errors, 1)
	is.Equal(s.PerSecond, 4.0/60)
}

func TestActivityForgetsSecondsOutsideTheWindow(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	a.Add(t0, outcome(router.ResultAnswered, time.Millisecond))
	// Exactly one window later the same bucket is reused for a new second.
	later := t0.Add(monitor.ActivityWindow)
	a.Add(later, outcome(router.ResultError, 2*time.Millisecond))
	s := a.Snapshot(later)
	var total int
	for _, sec := range s.Seconds {
		total += sec.Total
	}
	is.Equal(total, 1)
	is.Equal(s.Seconds[len(s.Seconds)-1].ByResult[router.ResultError], 1)
	is.Equal(s.Seconds[len(s.Seconds)-1].ByResult[router.ResultAnswered], 0)

	// A late outcome for a second already out of the window is not
	// counted there, but is still listed.
	a.Add(t0, outcome(router.ResultTimeout, time.Second))
	s = a.Snapshot(later)
	is.Equal(s.Seconds[len(s.Seconds)-1].Total, 1)
	is.Equal(s.Recent[0].Result, router.ResultTimeout)

	// Long after, nothing is left in the counts.
	s = a.Snapshot(later.Add(monitor.ActivityWindow))
	for _, sec := range s.Seconds {
		is.Equal(sec.Total, 0)
	}
	is.Equal(s.LastMinute.Samples, 0)
}

func TestActivityPercentilesOverTheLastMinute(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	// 100 commands over the last 50 seconds, 1 ms to 100 ms.
	for i := 1; i <= 100; i++ {
		a.Add(t0.Add(time.Duration(i)*500*time.Millisecond), outcome(router.ResultAnswered, time.Duration(i)*time.Millisecond))
	}
	// One slow command two minutes earlier: outside the last minute.
	a.Add(t0.Add(-2*time.Minute), outcome(router.ResultAnswered, time.Hour))
	now := t0.Add(50 * time.Second)
	s := a.Snapshot(now)
	is.Equal(s.LastMinute.Samples, 100)
	is.Equal(s.LastMinute.P50, 50*time.Millisecond)
	is.Equal(s.LastMinute.P95, 95*time.Millisecond)
	is.Equal(s.LastMinute.P99, 99*time.Millisecond)
	is.Equal(s.PerSecond, 100.0/60)

	// The series covers the window in LatencyStep spans and holds the
	// slow command in its span.
	is.Equal(len(s.Latency), int(monitor.ActivityWindow/monitor.LatencyStep))
	var slow int
	for _, p := range s.Latency {
		if p.P99 == time.Hour {
			slow++
			is.Equal(p.Samples, 1)
		}
	}
	is.Equal(slow, 1)
	lastStep := s.Latency[len(s.Latency)-1]
	is.True(lastStep.Samples > 0)
	is.True(!lastStep.Start.After(now))
}

func TestActivityCapsLatencySamplesPerSecond(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	n := 10 * monitor.SamplesPerSecond
	for i := range n {
		a.Add(t0.Add(time.Duration(i)*time.Microsecond), outcome(router.ResultAnswered, 7*time.Millisecond))
	}
	s := a.Snapshot(t0)
	is.Equal(s.Seconds[len(s.Seconds)-1].Total, n)           // every command counted
	is.Equal(s.LastMinute.Samples, monitor.SamplesPerSecond) // but samples are capped
	is.Equal(s.LastMinute.P99, 7*time.Millisecond)
}

func TestActivityKeepsTheLatestCommandsAndErrors(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	for i := range 3 * monitor.RecentCommands {
		r := router.ResultAnswered
		if i%3 == 0 {
			r = router.ResultError
		}
		o := outcome(r, time.Duration(i))
		o.Command = fmt.Sprint("c", i)
		a.Add(t0.Add(time.Duration(i)*time.Second), o)
	}
	s := a.Snapshot(t0.Add(time.Hour))
	is.Equal(len(s.Recent), monitor.RecentCommands)
	is.Equal(len(s.Errors), monitor.RecentCommands)
	last := 3*monitor.RecentCommands - 1
	is.Equal(s.Recent[0].Command, fmt.Sprint("c", last)) // newest first
	is.Equal(s.Recent[len(s.Recent)-1].Command, fmt.Sprint("c", last-monitor.RecentCommands+1))
	is.Equal(s.Errors[0].Command, fmt.Sprint("c", last-2)) // the latest multiple of 3
	for _, c := range s.Errors {
		is.Equal(c.Result, router.ResultError)
	}
	is.Equal(s.Recent[0].Channel, "mychannel")
	is.Equal(s.Recent[0].Plugin, "dice")
	is.Equal(s.Recent[0].Latency, time.Duration(last))
	is.True(s.Recent[0].Time.Equal(t0.Add(time.Duration(last) * time.Second)))
}

func TestActivityIsSafeForConcurrentUse(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	var wg sync.WaitGroup
	now := time.Now()
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				a.Add(now, outcome(router.ResultAnswered, time.Duration(w*i)))
				if i%50 == 0 {
					_ = a.Snapshot(now)
				}
			}
		})
	}
	wg.Wait()
	is.Equal(a.Snapshot(now).Seconds[int(monitor.ActivityWindow/time.Second)-1].Total, 2000)
}

func TestMetricsRecordActivity(t *testing.T) {
	is := is.New(t)
	m := monitor.NewMetrics()
	m.CommandDone(router.Outcome{Channel: "mychannel", Plugin: "8ball", Command: "8ball", Result: router.ResultTimeout, Latency: 5 * time.Second})
	s := m.Activity().Snapshot(time.Now())
	is.Equal(len(s.Errors), 1)
	is.Equal(s.Errors[0].Plugin, "8ball")
	var total int
	for _, sec := range s.Seconds {
		total += sec.Total
	}
	is.Equal(total, 1)
	// The snapshot is plain JSON for the dashboard.
	b, err := json.Marshal(s)
	is.NoErr(err)
	is.True(strings.Contains(string(b), `"result":"timeout"`))
}

func TestActivityPerPluginOverTheLastMinute(t *testing.T) {
	is := is.New(t)
	a := monitor.NewActivity()
	now := t0.Add(2 * time.Minute)
	for i := 1; i <= 20; i++ {
		a.Add(now.Add(-time.Duration(i)*time.Second), router.Outcome{Plugin: "dice", Command: "roll", Result: router.ResultAnswered, Latency: time.Duration(i) * time.Millisecond})
	}
	a.Add(now, router.Outcome{Plugin: "8ball", Command: "8ball", Result: router.ResultTimeout, Latency: 5 * time.Second})
	a.Add(now, router.Outcome{Result: router.ResultUnknown, Latency: time.Millisecond})                                                        // no plugin
	a.Add(now.Add(-90*time.Second), router.Outcome{Plugin: "seen", Command: "seen", Result: router.ResultAnswered, Latency: time.Millisecond}) // too old
	s := a.Snapshot(now)
	is.Equal(len(s.Plugins), 2)
	dice := s.Plugins["dice"]
	is.Equal(dice.Commands, 20)
	is.Equal(dice.Errors, 0)
	is.Equal(dice.Latency.Samples, 20)
	is.Equal(dice.Latency.P50, 10*time.Millisecond)
	is.Equal(dice.Latency.P95, 19*time.Millisecond)
	ball := s.Plugins["8ball"]
	is.Equal(ball.Commands, 1)
	is.Equal(ball.Errors, 1)
	is.Equal(ball.Latency.P99, 5*time.Second)
	is.Equal(s.LastMinute.Samples, 22) // every plugin's, and the unknown command's
}
