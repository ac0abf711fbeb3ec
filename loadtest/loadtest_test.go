package loadtest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/loadtest"
	"github.com/roseybot/rosey/plugin"
)

func startBot(t *testing.T, cfg loadtest.BotConfig) *loadtest.Bot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg.Config.Database.Dir = t.TempDir()
	bot, err := loadtest.StartBot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bot.Stop(context.Background()) })
	return bot
}

// checkClean fails unless every command of the run was answered once,
// with the plugin's own answer.
func checkClean(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	if t.Failed() || rep.Commands == 0 || rep.OK != rep.Commands || rep.Lost != 0 || rep.Duplicated != 0 || rep.Unexpected != 0 {
		var b []byte
		w := writer{&b}
		_, _ = rep.WriteTo(w)
		t.Fatalf("not every command was answered once with the plugin's answer:\n%s", b)
	}
}

type writer struct{ b *[]byte }

func (w writer) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

// A second of the default mix at a low rate against the built-in plugins
// in process: every command is answered once, with the plugin's answer.
func TestSmokeInProcess(t *testing.T) {
	is := is.New(t)
	bot := startBot(t, loadtest.BotConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Rate: 60, Duration: time.Second, Users: 5})
	is.NoErr(err)
	is.True(rep.Offered >= 30) // about 60 at 60 lines/s; fewer only on a very busy machine
	checkClean(t, rep)
	for _, k := range rep.Kinds {
		if k.Offered > 0 && k.Kind != "chat" && k.OK != k.Offered {
			t.Errorf("%s: %d offered, %d ok (%q)", k.Kind, k.Offered, k.OK, k.FirstAnswer)
		}
	}
	is.True(rep.P50 > 0 && rep.P99 >= rep.P50)
	is.True(rep.Throughput > 0)
	if rep.UsageError == "" {
		is.True(rep.CPU > 0)
		is.True(rep.PeakRSS >= rep.RSS/2) // the peak since the run's start, and some memory is resident
	}
}

// The same with every plugin in a process of its own (this test binary
// serves them, see TestMain).
func TestSmokeDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per built-in plugin")
	}
	is := is.New(t)
	bot := startBot(t, loadtest.BotConfig{Layout: loadtest.Distributed})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Rate: 40, Duration: time.Second, Users: 5})
	is.NoErr(err)
	checkClean(t, rep)
	if rep.UsageError == "" {
		is.True(rep.Processes > 1) // the plugin processes are counted too
	}
}

// The closed loop (no rate) keeps at most Window commands waiting and
// stops after Lines.
func TestClosedLoop(t *testing.T) {
	is := is.New(t)
	bot := startBot(t, loadtest.BotConfig{})
	mix, err := loadtest.ParseMix("roll=3,flip=1")
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Window: 4, Lines: 200, Duration: time.Minute, Mix: mix})
	is.NoErr(err)
	is.Equal(rep.Offered, 200)
	checkClean(t, rep)
}

// misbehaving claims !roll and never answers it, and answers !flip twice.
type misbehaving struct{}

func (misbehaving) Info() plugin.Info {
	return plugin.Info{Name: "misbehaving", Version: "1.0.0", Commands: []plugin.Command{{Name: "roll"}, {Name: "flip"}}}
}

func (misbehaving) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("roll", func(context.Context, *plugin.Request) (string, error) { return "", nil })
	h.Handle("flip", func(ctx context.Context, _ *plugin.Request) (string, error) {
		if err := h.Say(ctx, "heads"); err != nil {
			return "", err
		}
		return "", h.Say(ctx, "tails")
	})
	return nil
}

func (misbehaving) Stop(context.Context) error { return nil }

// The report counts what a plugin that lies does: commands never
// answered are lost, a second answer is a duplicate.
func TestCountsLostAndDuplicated(t *testing.T) {
	is := is.New(t)
	bot := startBot(t, loadtest.BotConfig{Plugins: []plugin.Plugin{misbehaving{}}})
	mix, err := loadtest.ParseMix("roll=1,flip=1,chat=1")
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Rate: 300, Lines: 90, Mix: mix, Drain: time.Second, Seed: 7})
	is.NoErr(err)
	is.Equal(rep.Offered, 90)
	var rolls, flips int
	for _, k := range rep.Kinds {
		switch k.Kind {
		case "roll":
			rolls = k.Offered
		case "flip":
			flips = k.Offered
		}
	}
	is.True(rolls > 0 && flips > 0)
	is.Equal(rep.Commands, rolls+flips)
	is.Equal(rep.Lost, rolls)
	is.Equal(rep.Answered, flips)
	is.Equal(rep.Duplicated, flips)
}

func TestParseMix(t *testing.T) {
	is := is.New(t)
	m, err := loadtest.ParseMix(loadtest.DefaultMix)
	is.NoErr(err)
	is.Equal(m.String(), loadtest.DefaultMix)
	is.Equal(m.CommandShare(), 0.85)
	for _, bad := range []string{"", "roll", "roll=x", "roll=-1", "dance=3", "roll=1,roll=2", "roll=0"} {
		_, err := loadtest.ParseMix(bad)
		if !errors.Is(err, loadtest.ErrBadMix) {
			t.Errorf("ParseMix(%q): %v, want ErrBadMix", bad, err)
		}
	}
}

func TestBadConfig(t *testing.T) {
	is := is.New(t)
	_, err := loadtest.StartBot(context.Background(), loadtest.BotConfig{Layout: "sideways"})
	is.True(errors.Is(err, loadtest.ErrBadLayout))
	_, err = loadtest.Run(context.Background(), nil, loadtest.Config{Rate: -1})
	is.True(errors.Is(err, loadtest.ErrBadConfig))
	_, err = loadtest.Run(context.Background(), nil, loadtest.Config{Rate: 10})
	is.True(errors.Is(err, loadtest.ErrBadConfig)) // no bus
}

func TestReadUsage(t *testing.T) {
	is := is.New(t)
	u, err := loadtest.ReadUsage(os.Getpid())
	if errors.Is(err, loadtest.ErrNoProc) {
		t.Skip(err)
	}
	is.NoErr(err)
	is.Equal(u.Processes, 1)
	is.True(u.RSS > 1<<20)      // a Go test binary holds more than a megabyte
	is.True(u.PeakRSS >= u.RSS) // the peak is at least what is resident now
}
