package loadtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Report is what a run offered and what came back.
type Report struct {
	// Mix, Rate (0: closed loop), Window and Users are the run's.
	Mix    string
	Rate   float64
	Window int
	Users  int

	// Offered counts the lines said; Commands those expecting an answer.
	Offered, Commands int
	// OfferedFor is how long lines were offered; Elapsed runs from the
	// first line to the last answer.
	OfferedFor, Elapsed time.Duration

	// Answered counts the commands with an answer. Of those, OK got the
	// plugin's answer; TimedOut the router's timeout notice; Refused a ⏳
	// notice (too many commands waiting, or a cooldown); Errors any other
	// notice or plugin error (⚠️, ❌, ⛔, ❓).
	Answered, OK, TimedOut, Refused, Errors int
	// Lost counts the commands with no answer by the end of the drain.
	Lost int
	// Duplicated counts the answers beyond the first (parts of a long
	// answer aside).
	Duplicated int
	// Unexpected counts the messages answering no command of the run
	// (plain chat answered, or a message with an unknown correlation id).
	Unexpected int

	// P50, P90, P99 and Max are the latencies, from a line's publication
	// to its first answer, over every answered command.
	P50, P90, P99, Max time.Duration
	// Throughput is the commands answered OK per second of Elapsed.
	Throughput float64

	// Processes, CPU, RSS and PeakRSS are the measured processes' (this
	// one, where the harness runs, and its descendants by default): CPU
	// time used during the run, resident memory at its end (Anon: the
	// part that is not the program's file mapped in; PSS: shared pages
	// counted once, see Usage), and the
	// sum of their peaks during it. UsageError says why they are missing.
	Processes               int
	CPU                     time.Duration
	RSS, Anon, PSS, PeakRSS int64
	UsageError              string

	// Kinds breaks the run down per kind of line, in the mix's order.
	Kinds []KindReport
}

// KindReport is one kind's share of a Report.
type KindReport struct {
	Kind                        string
	Offered, Answered, OK, Lost int
	P50, P99                    time.Duration
	FirstAnswer                 string // an example answer, for a look
}

func (r *run) report(cfg Config, start time.Time, offeredFor time.Duration) *Report {
	rep := &Report{Mix: cfg.Mix.String(), Rate: cfg.Rate, Users: cfg.Users, OfferedFor: offeredFor,
		Offered: len(r.offers), Unexpected: r.unexpected}
	if cfg.Rate == 0 {
		rep.Window = cfg.Window
	}
	var all []time.Duration
	per := map[string]*KindReport{}
	lat := map[string][]time.Duration{}
	for _, s := range cfg.Mix {
		kr := &KindReport{Kind: s.Kind.Name}
		per[s.Kind.Name] = kr
	}
	for _, o := range r.offers {
		kr := per[o.kind.Name]
		kr.Offered++
		if !o.kind.Answers {
			continue
		}
		rep.Commands++
		rep.Duplicated += o.dups
		if o.answers == 0 {
			rep.Lost++
			kr.Lost++
			continue
		}
		rep.Answered++
		kr.Answered++
		all = append(all, o.latency)
		lat[o.kind.Name] = append(lat[o.kind.Name], o.latency)
		if kr.FirstAnswer == "" {
			kr.FirstAnswer = o.first
		}
		switch outcome(o.first) {
		case "ok":
			rep.OK++
			kr.OK++
		case "timeout":
			rep.TimedOut++
		case "refused":
			rep.Refused++
		default:
			rep.Errors++
		}
	}
	rep.P50, rep.P90, rep.P99, rep.Max = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99), quantile(all, 1)
	for _, s := range cfg.Mix {
		kr := per[s.Kind.Name]
		kr.P50, kr.P99 = quantile(lat[kr.Kind], 0.5), quantile(lat[kr.Kind], 0.99)
		rep.Kinds = append(rep.Kinds, *kr)
	}
	rep.Elapsed = offeredFor
	if !r.lastAnswer.IsZero() && r.lastAnswer.Sub(start) > rep.Elapsed {
		rep.Elapsed = r.lastAnswer.Sub(start)
	}
	if rep.Elapsed > 0 {
		rep.Throughput = float64(rep.OK) / rep.Elapsed.Seconds()
	}
	return rep
}

// quantile returns the q-quantile of ds (nearest rank), sorting ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// OfferedRate is the lines offered per second.
func (r *Report) OfferedRate() float64 {
	if r.OfferedFor <= 0 {
		return 0
	}
	return float64(r.Offered) / r.OfferedFor.Seconds()
}

// Sustained reports whether the bot kept up: every command answered OK,
// none lost or duplicated, and p99 under limit.
func (r *Report) Sustained(limit time.Duration) bool {
	return r.Commands > 0 && r.OK == r.Commands && r.Duplicated == 0 && r.P99 < limit
}

// WriteTo writes the report for people to read.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	offer := fmt.Sprintf("%.0f lines/s", r.Rate)
	if r.Rate == 0 {
		offer = fmt.Sprintf("as fast as answered, %d commands in flight", r.Window)
	}
	fmt.Fprintf(&b, "mix        %s\n", r.Mix)
	fmt.Fprintf(&b, "offered    %d lines (%d commands) in %s, %s, %d users: %.0f lines/s\n",
		r.Offered, r.Commands, r.OfferedFor.Round(time.Millisecond), offer, r.Users, r.OfferedRate())
	fmt.Fprintf(&b, "answered   %d: ok %d, timed out %d, refused %d, errors %d\n", r.Answered, r.OK, r.TimedOut, r.Refused, r.Errors)
	fmt.Fprintf(&b, "lost       %d\nduplicated %d\n", r.Lost, r.Duplicated)
	if r.Unexpected > 0 {
		fmt.Fprintf(&b, "unexpected %d messages answering no command\n", r.Unexpected)
	}
	fmt.Fprintf(&b, "latency    p50 %s, p90 %s, p99 %s, max %s\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	fmt.Fprintf(&b, "throughput %.0f commands/s answered ok (over %s)\n", r.Throughput, r.Elapsed.Round(time.Millisecond))
	if r.UsageError == "" {
		fmt.Fprintf(&b, "cpu        %s over %d process(es): %.0f%% of one core\n", r.CPU.Round(time.Millisecond), r.Processes,
			100*r.CPU.Seconds()/max(r.Elapsed.Seconds(), 1e-9))
		fmt.Fprintf(&b, "memory     rss %.1f MB now (%.1f MB of it anonymous, pss %.1f MB), peak %.1f MB\n", mb(r.RSS), mb(r.Anon), mb(r.PSS), mb(r.PeakRSS))
	} else {
		fmt.Fprintf(&b, "cpu, memory unknown: %s\n", r.UsageError)
	}
	fmt.Fprintf(&b, "%-10s %8s %8s %8s %6s %10s %10s\n", "kind", "offered", "answered", "ok", "lost", "p50", "p99")
	for _, k := range r.Kinds {
		fmt.Fprintf(&b, "%-10s %8d %8d %8d %6d %10s %10s\n", k.Kind, k.Offered, k.Answered, k.OK, k.Lost, ms(k.P50), ms(k.P99))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mb(n int64) float64 { return float64(n) / (1 << 20) }
