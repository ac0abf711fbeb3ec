package loadtest_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/internal/proctest"
	"github.com/roseybot/rosey/loadtest"
)

// benchRun is how long each measured stretch of the capacity benchmarks
// offers lines.
const benchRun = 4 * time.Second

func benchBot(b *testing.B, layout loadtest.Layout) *loadtest.Bot {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cfg loadtest.BotConfig
	cfg.Layout = layout
	cfg.Config.Database.Dir = b.TempDir()
	bot, err := loadtest.StartBot(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bot.Stop(context.Background()) })
	return bot
}

func mustMix(b *testing.B, s string) loadtest.Mix {
	m, err := loadtest.ParseMix(s)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// load runs cfg against bot and fails the benchmark on lost or duplicated
// answers: a capacity figure bought with lost lines is no capacity.
func load(b *testing.B, bot *loadtest.Bot, cfg loadtest.Config) *loadtest.Report {
	b.Helper()
	rep := offer(b, bot, cfg)
	if rep.Lost > 0 || rep.Duplicated > 0 {
		var sb strings.Builder
		_, _ = rep.WriteTo(&sb)
		b.Fatalf("lost or duplicated answers:\n%s", sb.String())
	}
	return rep
}

// offer runs cfg against bot.
func offer(b *testing.B, bot *loadtest.Bot, cfg loadtest.Config) *loadtest.Report {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if cfg.Duration == 0 {
		cfg.Duration = benchRun
	}
	rep, err := loadtest.Run(ctx, bot.Bus(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if testing.Verbose() {
		var sb strings.Builder
		_, _ = rep.WriteTo(&sb)
		b.Logf("\n%s", sb.String())
	}
	return rep
}

// tally sums the closed-loop runs of one side of a comparison.
type tally struct {
	ok       int
	elapsed  time.Duration
	cpu      time.Duration
	worstP99 time.Duration
}

func (t *tally) add(r *loadtest.Report) {
	t.ok += r.OK
	t.elapsed += r.Elapsed
	t.cpu += r.CPU
	t.worstP99 = max(t.worstP99, r.P99)
}

func (t *tally) rate() float64 { return float64(t.ok) / t.elapsed.Seconds() }

func (t *tally) cpuPerCommand() float64 { return float64(t.cpu.Microseconds()) / float64(max(t.ok, 1)) }

// rounds is how many slices of benchSlice each side of a comparison gets,
// alternating, so that a noisy stretch of the shared machine hits both.
const (
	rounds     = 4
	benchSlice = time.Second
)

// compare runs a and b in alternating closed-loop slices and returns their
// tallies.
func compare(b *testing.B, botA *loadtest.Bot, cfgA loadtest.Config, botB *loadtest.Bot, cfgB loadtest.Config) (ta, tb tally) {
	cfgA.Duration, cfgB.Duration = benchSlice, benchSlice
	for range rounds {
		ta.add(load(b, botA, cfgA))
		tb.add(load(b, botB, cfgB))
	}
	return ta, tb
}

// BenchmarkMixedVsRoll measures, on one in-process bot with the built-in
// plugins, the command rate of the default mix (database commands and
// plain chat included) against that of !roll alone, both as fast as the bot
// answers with 64 commands in flight, in alternating slices, and reports
// mixed-%-of-roll (goal ≥ 50), and the same ratio from the CPU time each
// command took (mixed-%-of-roll-by-cpu: the bot's own cost, whatever else
// the machine runs). Then it offers the mix for 4s at a fixed
// rate carrying half the roll-only command rate and reports that run's p99
// (goal < 1000 ms), the share of its commands answered ok (goal 100) and
// the shares refused and lost (no answer: past router.max_concurrent the
// router refuses a command with a ⏳ notice at most once per user per
// hint_every, and silently after that).
func BenchmarkMixedVsRoll(b *testing.B) {
	bot := benchBot(b, loadtest.InProcess)
	roll, mixed := mustMix(b, "roll=1"), mustMix(b, loadtest.DefaultMix)
	load(b, bot, loadtest.Config{Mix: roll, Duration: time.Second}) // warm up
	var rollT, mixedT tally
	var half *loadtest.Report
	var halfRefused uint64
	for b.Loop() {
		rollT, mixedT = compare(b, bot, loadtest.Config{Mix: roll}, bot, loadtest.Config{Mix: mixed})
		refused := bot.Router().Refused()
		half = offer(b, bot, loadtest.Config{Mix: mixed, Rate: rollT.rate() / 2 / mixed.CommandShare(), Duration: benchRun})
		halfRefused = bot.Router().Refused() - refused
	}
	b.ReportMetric(rollT.rate(), "roll-cmds/s")
	b.ReportMetric(mixedT.rate(), "mixed-cmds/s")
	b.ReportMetric(100*mixedT.rate()/rollT.rate(), "mixed-%-of-roll")
	b.ReportMetric(float64(mixedT.worstP99)/1e6, "mixed-p99-ms")
	if rollT.cpu > 0 {
		// What the ratio would be if CPU were all that limited the bot:
		// steadier than the rates on a shared machine.
		b.ReportMetric(rollT.cpuPerCommand(), "roll-cpu-µs/cmd")
		b.ReportMetric(mixedT.cpuPerCommand(), "mixed-cpu-µs/cmd")
		b.ReportMetric(100*rollT.cpuPerCommand()/mixedT.cpuPerCommand(), "mixed-%-of-roll-by-cpu")
	}
	b.ReportMetric(float64(half.P99)/1e6, "half-roll-rate-p99-ms")
	b.ReportMetric(100*float64(half.OK)/float64(half.Commands), "half-roll-rate-%-ok")
	b.ReportMetric(100*float64(half.Lost)/float64(half.Commands), "half-roll-rate-%-lost")
	b.ReportMetric(100*float64(halfRefused)/float64(half.Commands), "half-roll-rate-%-refused")
}

// BenchmarkDistributedVsInProcess measures the default mix's command rate
// with every built-in plugin in a process of its own against the same with
// them in process, each as fast as the bot answers with 64 commands in
// flight, in alternating slices, and reports distributed-%-of-in-process
// (goal ≥ 50). The CPU time per command of each layout is reported too
// (this process, which also runs the harness and the in-process bot, and
// every plugin process).
func BenchmarkDistributedVsInProcess(b *testing.B) {
	in, dist := benchBot(b, loadtest.InProcess), benchBot(b, loadtest.Distributed)
	mixed := mustMix(b, loadtest.DefaultMix)
	load(b, in, loadtest.Config{Mix: mixed, Duration: time.Second})
	load(b, dist, loadtest.Config{Mix: mixed, Duration: time.Second})
	var inT, distT tally
	for b.Loop() {
		inT, distT = compare(b, in, loadtest.Config{Mix: mixed}, dist, loadtest.Config{Mix: mixed})
	}
	b.ReportMetric(inT.rate(), "in-process-cmds/s")
	b.ReportMetric(distT.rate(), "distributed-cmds/s")
	b.ReportMetric(100*distT.rate()/inT.rate(), "distributed-%-of-in-process")
	b.ReportMetric(float64(inT.worstP99)/1e6, "in-process-p99-ms")
	b.ReportMetric(float64(distT.worstP99)/1e6, "distributed-p99-ms")
	if inT.cpu > 0 {
		b.ReportMetric(inT.cpuPerCommand(), "in-process-cpu-µs/cmd")
		b.ReportMetric(distT.cpuPerCommand(), "distributed-cpu-µs/cmd")
	}
}

// idleConfig writes the config of a bot in n channels of the fake CyTube
// server at url, with its data in dir, and returns the file's path.
func idleConfig(b *testing.B, url, dir string, n int) string {
	b.Helper()
	channel := func(i int) map[string]any {
		return map[string]any{"channel": "room" + strconv.Itoa(i), "backoff_min": "20ms", "connect_interval": "10ms"}
	}
	first := channel(0)
	first["server"], first["user"] = url, "RoseyBot"
	var more []map[string]any
	for i := 1; i < n; i++ {
		more = append(more, channel(i))
	}
	cfg := map[string]any{"cytube": first, "channels": more, "database": map[string]any{"dir": dir},
		"nats": map[string]any{"embedded": map[string]any{"listen": "127.0.0.1:0"}}}
	body, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "rosey.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		b.Fatal(err)
	}
	return file
}

// idleRSS runs the rosey binary (`rosey run`) in n channels of srv, waits
// until it is in all of them and has sat idle a while, and returns its
// resident memory.
func idleRSS(b *testing.B, binary string, srv *cytubetest.Server, n int) loadtest.Usage {
	b.Helper()
	cmd := exec.Command(binary, "run", "-config", idleConfig(b, srv.URL, b.TempDir(), n), "-log-level", "error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); cancel() }()
	defer func() { _ = cmd.Process.Signal(os.Interrupt); <-exited }()
	for i := range n {
		if err := srv.WaitUser(ctx, "room"+strconv.Itoa(i), "RoseyBot"); err != nil {
			b.Fatalf("the bot never joined room%d: %v", i, err)
		}
	}
	// Idle: the connections ping, nothing else happens. The figure is the
	// last of a few readings, once start-up garbage has been collected.
	var u loadtest.Usage
	var err error
	for range 5 {
		time.Sleep(time.Second)
		u, err = loadtest.ReadUsage(cmd.Process.Pid)
		if err != nil {
			b.Skip(err)
		}
	}
	return u
}

// floorRSS runs memfloor, the least a program with an embedded NATS
// server and SQLite through bun holds, and returns its idle resident
// memory, read as idleRSS reads the bot's.
func floorRSS(b *testing.B, binary string) loadtest.Usage {
	b.Helper()
	cmd := exec.Command(binary, b.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	ready := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(out, ready); err != nil || string(ready) != "ready\n" {
		b.Fatalf("memfloor did not start: %q %v", ready, err)
	}
	var u loadtest.Usage
	for range 5 {
		time.Sleep(time.Second)
		if u, err = loadtest.ReadUsage(cmd.Process.Pid); err != nil {
			b.Skip(err)
		}
	}
	return u
}

// BenchmarkIdleMemory measures the resident memory of the rosey binary
// (`rosey run`, the built-in plugins in process) sitting idle in one
// channel of the fake CyTube server (idle-MB, goal < 35; idle-anon-MB is
// the part that is not the binary's code and data mapped in) and in 100
// channels, reporting what each further channel adds (MB-per-channel, goal
// < 2). floor-MB is memfloor's, a program with only an embedded NATS
// server and SQLite through bun: what no bot can go below.
func BenchmarkIdleMemory(b *testing.B) {
	binary, cleanup, err := proctest.Build("github.com/roseybot/rosey/cmd/rosey")
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	floorBinary, floorCleanup, err := proctest.Build("github.com/roseybot/rosey/loadtest/internal/memfloor")
	if err != nil {
		b.Fatal(err)
	}
	defer floorCleanup()
	scfg := cytubetest.Fast()
	scfg.ConnectBurst, scfg.MaxConnectionsPerIP = -1, -1
	srv := cytubetest.NewServer(scfg)
	defer srv.Close()
	var one, hundred, floor loadtest.Usage
	for b.Loop() {
		one = idleRSS(b, binary, srv, 1)
		hundred = idleRSS(b, binary, srv, 100)
		floor = floorRSS(b, floorBinary)
	}
	b.ReportMetric(float64(floor.RSS)/(1<<20), "floor-MB")
	b.ReportMetric(float64(one.RSS)/(1<<20), "idle-MB")
	b.ReportMetric(float64(one.Anon)/(1<<20), "idle-anon-MB")
	b.ReportMetric(float64(hundred.RSS)/(1<<20), "100-channels-MB")
	b.ReportMetric(float64(hundred.RSS-one.RSS)/99/(1<<20), "MB-per-channel")
}

// BenchmarkCostPerKind runs each kind of line alone, as fast as the bot
// answers, on one in-process bot with the built-in plugins, and reports
// the CPU time per command of each (plain chat: per line, offered at 2000
// lines/s), to show which kinds weigh in a mix. The figures include the
// harness's own work, the same for every kind.
func BenchmarkCostPerKind(b *testing.B) {
	bot := benchBot(b, loadtest.InProcess)
	load(b, bot, loadtest.Config{Mix: mustMix(b, "roll=1"), Duration: time.Second})
	kinds := []string{"roll", "flip", "quote-add", "quote", "seen", "help"} // !8ball has a 10s cooldown per user
	cost := map[string]float64{}
	for b.Loop() {
		for _, k := range kinds {
			var t tally
			for range 2 {
				t.add(load(b, bot, loadtest.Config{Mix: mustMix(b, k+"=1"), Duration: benchSlice}))
			}
			cost[k] = t.cpuPerCommand()
		}
		// Plain chat expects no answer: offered at a fixed rate, its cost
		// is the CPU time of the run per line.
		var cpu time.Duration
		var lines int
		for range 2 {
			r := offer(b, bot, loadtest.Config{Mix: mustMix(b, "chat=1"), Rate: 2000, Duration: benchSlice})
			cpu += r.CPU
			lines += r.Offered
		}
		cost["chat"] = float64(cpu.Microseconds()) / float64(max(lines, 1))
	}
	if cost["roll"] == 0 {
		b.Skip("no CPU figures (no /proc)")
	}
	for _, k := range append(kinds, "chat") {
		b.ReportMetric(cost[k], k+"-cpu-µs")
	}
}
