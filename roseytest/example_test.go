package roseytest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// shout is the plugin under test: !shout <text> answers in capitals.
type shout struct{}

func (shout) Info() plugin.Info {
	return plugin.Info{Name: "shout", Version: "1.0.0", Commands: []plugin.Command{
		{Name: "shout", Usage: "<text>"},
		{Name: "whisper", MinRank: protocol.RankModerator},
	}}
}

func (shout) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("shout", func(_ context.Context, req *plugin.Request) (string, error) {
		return strings.ToUpper(req.Text) + "!", nil
	})
	h.Handle("whisper", func(_ context.Context, req *plugin.Request) (string, error) {
		return strings.ToLower(req.Text) + "…", nil
	})
	return nil
}

func (shout) Stop(context.Context) error { return nil }

// shoutTest is what goes in your shout_test.go, as
// func TestShout(t *testing.T).
func shoutTest(t testing.TB) {
	h := roseytest.New(t, roseytest.WithPlugins(shout{}), roseytest.WithoutDatabase())

	h.Say("alice", "!shout hello")
	h.Expect("HELLO!")

	h.Say("alice", "!whisper HEY") // alice is a guest
	h.Expect("needs rank moderator")
	h.SetRank("bob", protocol.RankModerator)
	h.PM("bob", "!whisper HEY")
	h.ExpectPM("bob", "hey…")

	h.Say("alice", "just chatting")
	h.ExpectNone()

	h.Say("alice", "!shout oops")
	h.Expect("quiet") // fails the test: the answer is "OOPS!"
	fmt.Println("not reached")
}

// The harness runs a real bot core (in-process NATS, plugin manager,
// router) around your plugins; Say, PM and SetRank play the users, and
// Expect, ExpectPM and ExpectNone check what the bot answers.
//
// An Example cannot have a *testing.T, so this one runs shoutTest with
// a small stand-in; in your own test, pass the *testing.T you are given.
func ExampleNew() {
	run(shoutTest)
	// Output:
	// FAIL: roseytest: want a chat reply containing "quiet", got chat: "OOPS!"
}

// run calls test with a stand-in for *testing.T that implements what the
// harness uses: Fatalf ends the test's goroutine as the real one does,
// cleanups run at the end, in reverse, and the bot's log is dropped.
func run(test func(testing.TB)) {
	t := &standIn{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		test(t)
	}()
	<-done
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

type standIn struct {
	testing.TB // only to satisfy the interface; the methods used are below
	cleanups   []func()
}

func (t *standIn) Helper()           {}
func (t *standIn) Cleanup(fn func()) { t.cleanups = append(t.cleanups, fn) }
func (t *standIn) Log(...any)        {} // the bot's log; a real test shows it with -v or on failure
func (t *standIn) Errorf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
}
func (t *standIn) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}
func (t *standIn) TempDir() string {
	dir, err := os.MkdirTemp("", "roseytest-example")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// A Clock moves only when the test says, and the plugins' timers and
// schedules (Host.Every, Host.At) run on it: here chime, which rings every
// hour, is tested without waiting an hour.
func ExampleClock() {
	run(func(t testing.TB) {
		clk := roseytest.NewClock(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC))
		h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(&chime{}), roseytest.WithoutDatabase())
		clk.WaitTimers(1) // chime's hourly job is set
		clk.Advance(time.Hour)
		fmt.Println(h.Next().Message)
		fmt.Println(clk.Now().Format("15:04"))
	})
	// Output:
	// 🔔 1
	// 10:00
}
