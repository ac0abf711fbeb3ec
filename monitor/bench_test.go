package monitor_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/router"
)

// BenchmarkCommandDone is the cost Metrics adds to every command the
// router answers, from several goroutines at once.
func BenchmarkCommandDone(b *testing.B) {
	m := monitor.NewMetrics()
	var outs []router.Outcome
	for i := range 64 {
		p := "plugin" + strconv.Itoa(i%8)
		outs = append(outs, router.Outcome{Channel: "lounge", Plugin: p, Command: "cmd" + strconv.Itoa(i%16),
			Result: router.ResultAnswered, Latency: time.Duration(i) * time.Millisecond})
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.CommandDone(outs[i%len(outs)])
			i++
		}
	})
}
