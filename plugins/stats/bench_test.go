package stats_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/interleave"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/plugins/stats"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// pong answers !pong: the baseline bot's barrier, a command with no
// per-line bookkeeping behind it.
type pong struct{}

func (pong) Info() plugin.Info {
	return plugin.Info{Name: "pong", Commands: []plugin.Command{{Name: "pong"}}}
}

func (pong) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("pong", func(context.Context, *plugin.Request) (string, error) { return "pong", nil })
	return nil
}

func (pong) Stop(context.Context) error { return nil }

// idle subscribes to cytube.> and does nothing with what it gets: the
// floor, what two more subscribers on every line cost with no work.
type idle struct{ name string }

func (p idle) Info() plugin.Info {
	return plugin.Info{Name: p.name, Commands: []plugin.Command{{Name: p.name}}}
}

func (p idle) Start(_ context.Context, h *plugin.Host) error {
	h.Handle(p.name, func(context.Context, *plugin.Request) (string, error) { return "here", nil })
	return h.Subscribe("cytube.>", func(context.Context, *eventbus.Event) {})
}

func (idle) Stop(context.Context) error { return nil }

// BenchmarkChatThroughSeenAndStats pushes chat lines from 50 users into a
// bot running seen and stats, batching with a flush every second (the
// default is 5s), and reports its lines/s as a share of a bot whose router alone
// reads each line, measured in interleaved slices of the same run, and the
// database writes per line. A third bot, with two plugins that subscribe to
// every line and do nothing, shows the floor: what two more subscribers
// cost on their own.
//
//	go test -run X -bench ChatThroughSeenAndStats -benchtime 40x ./plugins/stats
func BenchmarkChatThroughSeenAndStats(b *testing.B) {
	const lines = 2000 // per op
	quiet := roseytest.WithLogLevel(slog.LevelError)
	every := plugin.Duration(time.Second)
	book := roseytest.New(b, quiet, roseytest.WithPlugins(seen.New(seen.Config{FlushInterval: every}), stats.New(stats.Config{FlushInterval: every})))
	base := roseytest.New(b, quiet, roseytest.WithPlugins(pong{}))
	floor := roseytest.New(b, quiet, roseytest.WithPlugins(pong{}, idle{"idle-a"}, idle{"idle-b"}))
	var writes atomic.Int64
	if _, err := book.Bus().Subscribe("database.>", func(_ context.Context, ev *eventbus.Event) {
		op := ev.Subject[strings.LastIndex(ev.Subject, ".")+1:]
		if op == "set" || op == "update" || op == "delete" {
			writes.Add(1)
		}
	}); err != nil {
		b.Fatal(err)
	}
	body := make([][]byte, 50)
	for i := range body {
		body[i] = fmt.Appendf(nil, `{"user":"user%d","message":"just chatting about the video, nothing to see here","channel":%q,"rank":1,"time":1795843084650}`, i, roseytest.Channel)
	}
	// run publishes the lines, then a command whose answer comes once
	// every line before it has been taken in: by seen and stats (they
	// wait for the command's own line), or by the router alone.
	run := func(h *roseytest.Harness, barrier ...string) func(int) error {
		return func(int) error {
			nc := h.Bus().Conn()
			for i := range lines {
				if err := nc.Publish(protocol.Chat, body[i%len(body)]); err != nil {
					return err
				}
			}
			for _, cmd := range barrier {
				h.Say("asker", cmd)
			}
			for range barrier {
				if r := h.Next(); r.Message == "" {
					return fmt.Errorf("no answer to the barrier")
				}
			}
			return nil
		}
	}
	withBook := run(book, "!seen user1", "!stats user1")
	withRouter := run(base, "!pong")
	withIdle := run(floor, "!pong")
	for range 2 { // warm up: the users' first lines, the plugins' first flush timer
		for _, op := range []func(int) error{withBook, withRouter, withIdle} {
			if err := op(0); err != nil {
				b.Fatal(err)
			}
		}
	}
	w0 := writes.Load()
	b.ResetTimer()
	t, err := interleave.Times(max(b.N, interleave.Slices), withBook, withRouter, withIdle)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	sent := float64(max(b.N, interleave.Slices) / interleave.Slices * interleave.Slices * lines)
	b.ReportMetric(lines/(t[0]/1e9), "lines/s")
	b.ReportMetric(lines/(t[1]/1e9), "lines/s-router-only")
	b.ReportMetric(t[1]/t[0]*100, "%-of-router-only")
	b.ReportMetric(t[1]/t[2]*100, "%-floor-two-idle-subscribers")
	b.ReportMetric(float64(writes.Load()-w0)/sent, "db-writes/line")
}
