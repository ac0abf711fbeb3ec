package seen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func start(t *testing.T, c *clock, opts ...roseytest.Option) *roseytest.Harness {
	opts = append([]roseytest.Option{roseytest.WithPlugins(seen.New(seen.Config{Now: c.Now}))}, opts...)
	return roseytest.New(t, opts...)
}

func publish(t *testing.T, h *roseytest.Harness, subject string, data any) {
	t.Helper()
	if err := h.Bus().Publish(context.Background(), subject, data); err != nil {
		t.Fatal(err)
	}
}

func TestLastLineAndCaseInsensitiveNames(t *testing.T) {
	c := newClock()
	h := start(t, c)
	h.Say("alice", "!seen bob")
	h.Expect("🤷 I have not seen bob.")
	h.Say("Bob", "hello there")
	h.Say("alice", "!seen bob") // waits for the lines said before it
	h.Expect(`👀 Bob is here now. Last said just now: "hello there"`)
	c.Add(3*time.Hour + 12*time.Minute + 5*time.Second)
	h.Say("alice", "!seen BOB")
	h.Expect(`👀 Bob is here now. Last said 3h 12m ago: "hello there"`)
	h.PM("carol", "!seen @bob")
	h.ExpectPM("carol", `Last said 3h 12m ago: "hello there"`)
	h.ExpectNone()
}

func TestJoinAndLeave(t *testing.T) {
	c := newClock()
	h := start(t, c)
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "dave", Channel: roseytest.Channel, Rank: 1})
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "erin", Channel: roseytest.Channel})
	h.Say("erin", "brb")
	publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "erin", Channel: roseytest.Channel})
	// A !seen line is a barrier: the plugin answers it after storing what
	// came before it, so the clock can move on afterwards.
	h.Say("alice", "!seen erin")
	h.Expect(`👀 erin was last seen just now, leaving. Last said just now: "brb"`)
	c.Add(2*24*time.Hour + 4*time.Hour + 59*time.Second)
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave is here now.")
	h.Say("alice", "!seen erin")
	h.Expect(`👀 erin was last seen 2d 4h ago, leaving. Last said 2d 4h ago: "brb"`)

	// After a (re)connect, CyTube re-announces who is present: whoever
	// is not re-announced is no longer here.
	publish(t, h, protocol.Connection, protocol.ConnectionEvent{Channel: roseytest.Channel, State: protocol.StateConnected})
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave was last seen 2d 4h ago.")
}

func TestBadArguments(t *testing.T) {
	h := start(t, newClock())
	h.Say("alice", "!seen")
	h.Expect("❌ Usage: !seen <user>")
	h.Say("alice", "!seen two names")
	h.Expect("❌ Usage: !seen <user>")
	h.Say("alice", "!seen Alice")
	h.Expect("👋 alice, you are right here!")
}

func TestSurvivesRestart(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	c := newClock()
	useDir := roseytest.WithConfig(func(cfg *rosey.Config) { cfg.Database.Dir = dir })
	t.Run("first bot", func(t *testing.T) {
		// No flush comes due while it runs: only the one at stop writes.
		h := start(t, c, useDir, roseytest.WithPluginConfig(seen.Name, map[string]any{"flush_interval": "1h"}))
		h.Say("frank", "see you tomorrow")
		publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "frank"})
		h.Say("alice", "!seen frank") // also a barrier: the lines above are stored
		h.Expect("👀 frank was last seen just now, leaving.")
	})
	c.Add(20 * time.Hour)
	t.Run("second bot", func(t *testing.T) {
		h := start(t, c, useDir)
		h.Say("alice", "!seen Frank")
		r := h.Expect(`👀 frank was last seen 20h ago, leaving. Last said 20h ago: "see you tomorrow"`)
		is.Equal(r.Channel, roseytest.Channel)
	})
}

// With no Now of its own, the plugin tells the time by the Host's clock,
// which the test moves with roseytest.Clock.
func TestSeenOnTheHarnessClock(t *testing.T) {
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})))
	h.Say("dave", "off to bed")
	h.Say("alice", "!seen dave")
	h.Expect(`Last said just now: "off to bed"`)
	clk.Advance(3*24*time.Hour + 2*time.Hour)
	h.Say("alice", "!seen dave")
	h.Expect(`Last said 3d 2h ago: "off to bed"`)
}

// writes counts the database writes of the seen plugin: every set, update
// and delete request on its namespace's subjects, as the database service
// receives them.
func writes(t *testing.T, h *roseytest.Harness) *atomic.Int64 {
	return requests(t, h, "set", "update", "delete")
}

// requests counts the seen plugin's database requests of the given kinds.
func requests(t *testing.T, h *roseytest.Harness, kinds ...string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	sub, err := h.Bus().Subscribe("database."+seen.Name+".>", func(_ context.Context, ev *eventbus.Event) {
		if slices.Contains(kinds, ev.Subject[strings.LastIndex(ev.Subject, ".")+1:]) {
			n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := h.Bus().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A burst of chat costs one write per user at the next flush, not one per
// line, and !seen answers from memory before the flush.
func TestBatchedWrites(t *testing.T) {
	is := is.New(t)
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})))
	n := writes(t, h)
	users := []string{"ann", "ben", "cat", "dan"}
	for i := range 200 {
		h.Say(users[i%len(users)], fmt.Sprintf("line %d", i))
	}
	h.Say("alice", "!seen dan")
	h.Expect(`👀 dan is here now. Last said just now: "line 199"`)
	is.Equal(n.Load(), int64(0)) // nothing written before the interval is up

	clk.WaitTimers(1)
	clk.Advance(seen.DefaultFlushInterval)
	eventually(t, "flushed", func() bool { return n.Load() >= 5 }) // the four and alice
	h.Say("alice", "!seen ann")                                    // stored, with alice's new line in memory
	h.Expect(`👀 ann is here now. Last said 5s ago: "line 196"`)
	h.Say("alice", "!seen alice")
	h.Expect("you are right here")
	is.Equal(n.Load(), int64(5)) // 203 lines: 5 writes
}

// As soon as max_pending users wait to be written, a flush starts without
// waiting for the interval.
func TestFlushOnSize(t *testing.T) {
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})),
		roseytest.WithPluginConfig(seen.Name, map[string]any{"flush_interval": "1h", "max_pending": 3}))
	n := writes(t, h)
	h.Say("ann", "one")
	h.Say("ben", "two")
	h.Say("cat", "three")
	eventually(t, "flushed three users", func() bool { return n.Load() == 3 })
}

// A clean stop writes everything in memory: a new bot on the same data
// knows every user, though no flush interval ever passed.
func TestNothingLostOnStop(t *testing.T) {
	dir := t.TempDir()
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	opts := []roseytest.Option{roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})),
		roseytest.WithPluginConfig(seen.Name, map[string]any{"flush_interval": "1h"}),
		roseytest.WithConfig(func(cfg *rosey.Config) { cfg.Database.Dir = dir })}
	t.Run("first bot", func(t *testing.T) {
		h := roseytest.New(t, opts...)
		for i := range 50 {
			h.Say(fmt.Sprintf("user%d", i), fmt.Sprintf("hello %d", i))
		}
		publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "user7", Channel: roseytest.Channel})
		h.Say("alice", "!seen user49")
		h.Expect(`"hello 49"`)
	})
	t.Run("second bot", func(t *testing.T) {
		h := roseytest.New(t, opts...)
		for _, i := range []int{0, 7, 49} {
			h.Say("alice", fmt.Sprintf("!seen user%d", i))
			want := fmt.Sprintf(`👀 user%d is here now. Last said just now: "hello %d"`, i, i)
			if i == 7 {
				want = `👀 user7 was last seen just now, leaving. Last said just now: "hello 7"`
			}
			h.Expect(want)
		}
	})
}

// TestSeveralChannels: a bot in several channels says where a user is or
// was last seen, and a reconnect in one channel forgets who was here in
// that channel only.
func TestSeveralChannels(t *testing.T) {
	c := newClock()
	h := start(t, c)
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "bob", Channel: "den"})
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "dave", Channel: roseytest.Channel})
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "erin", Channel: "den"})
	publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "erin", Channel: "den"})
	h.Say("alice", "!seen bob")
	h.Expect("👀 bob is in den now.")
	h.Say("alice", "!seen erin")
	h.Expect("👀 erin was last seen just now in den, leaving.")
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave is here now.")

	// The den's connector came back: whoever is still there is announced
	// again; the others' presence is kept.
	publish(t, h, protocol.Connection, protocol.ConnectionEvent{Channel: "den", State: protocol.StateConnected})
	h.Say("alice", "!seen bob")
	h.Expect("👀 bob was last seen just now in den.")
	h.Say("alice", "!seen dave")
	h.Expect("👀 dave is here now.")
}

// TestAnswersFromMemory: a user who spoke since the last flush, or in the
// sightings it wrote, is answered without reading the database; others
// are read; and a presence reset is not hidden by what the flush wrote.
func TestAnswersFromMemory(t *testing.T) {
	is := is.New(t)
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})))
	n := writes(t, h)
	gets := requests(t, h, "get")
	h.Say("ann", "hi")
	publish(t, h, protocol.UserJoin, protocol.UserJoinEvent{User: "ben", Channel: roseytest.Channel})
	h.Say("alice", "!seen ann")
	h.Expect(`👀 ann is here now. Last said just now: "hi"`)
	is.Equal(gets.Load(), int64(0))

	clk.WaitTimers(1)
	clk.Advance(seen.DefaultFlushInterval)
	eventually(t, "flushed", func() bool { return n.Load() >= 3 }) // ann, ben, alice
	h.Say("alice", "!seen ann")
	h.Expect(`👀 ann is here now. Last said 5s ago: "hi"`)
	is.Equal(gets.Load(), int64(0)) // what the flush wrote
	h.Say("alice", "!seen ben")
	h.Expect("👀 ben is here now.")
	is.Equal(gets.Load(), int64(1)) // a join says less than the document holds: read
	publish(t, h, protocol.UserLeave, protocol.UserLeaveEvent{User: "ann", Channel: roseytest.Channel})
	h.Say("alice", "!seen ann")
	h.Expect(`👀 ann was last seen just now, leaving. Last said 5s ago: "hi"`)
	is.Equal(gets.Load(), int64(1))
}

// TestPresenceResetAfterAFlush: a reconnect marks everyone here absent in
// the database; what the last flush wrote no longer stands for it.
func TestPresenceResetAfterAFlush(t *testing.T) {
	clk := roseytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h := roseytest.New(t, roseytest.WithClock(clk), roseytest.WithPlugins(seen.New(seen.Config{})))
	n := writes(t, h)
	h.Say("cat", "yo")
	h.Say("alice", "!seen cat") // a barrier: cat's line is taken in
	h.Expect(`👀 cat is here now.`)
	clk.WaitTimers(1)
	clk.Advance(seen.DefaultFlushInterval)
	eventually(t, "flushed", func() bool { return n.Load() == 2 }) // cat and alice
	publish(t, h, protocol.Connection, protocol.ConnectionEvent{Channel: roseytest.Channel, State: protocol.StateConnected})
	h.Say("alice", "!seen cat")
	h.Expect(`👀 cat was last seen 5s ago. Last said 5s ago: "yo"`)
}

// TestWaitingCommandHoldsUpNoOtherUser: a !seen waiting for its own line
// (one that never comes: up to 2s) does not hold up another user's !seen,
// which is answered meanwhile: the plugin serves commands side by side.
func TestWaitingCommandHoldsUpNoOtherUser(t *testing.T) {
	is := is.New(t)
	h := start(t, newClock())
	h.Say("bob", "hello")
	stuck := make(chan string, 1)
	go func() {
		ctx := eventbus.WithCorrelationID(context.Background(), "a-line-never-said")
		ev, err := h.Bus().Request(ctx, protocol.PluginCommand(seen.Name), map[string]any{
			"command": "seen", "args": []string{"bob"}, "text": "bob", "user": "dave", "channel": roseytest.Channel, "source": "chat"})
		if err != nil {
			stuck <- err.Error()
			return
		}
		stuck <- string(ev.Data)
	}()
	eventually(t, "received the waiting !seen", func() bool { return commandsReceived(t, h) == 1 })
	h.Say("alice", "!seen bob")
	h.Expect(`👀 bob is here now. Last said just now: "hello"`)
	select {
	case got := <-stuck:
		t.Fatalf("the waiting !seen was answered first: %s", got)
	default:
	}
	is.True(strings.Contains(receiveString(t, stuck), "bob is here now"))
}

func receiveString(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return ""
	}
}

// commandsReceived asks the seen plugin's micro service how many commands
// it has received ($SRV.STATS).
func commandsReceived(t *testing.T, h *roseytest.Harness) int {
	t.Helper()
	m, err := h.Bus().Conn().Request("$SRV.STATS."+seen.Name, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st micro.Stats
	if err := json.Unmarshal(m.Data, &st); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range st.Endpoints {
		n += e.NumRequests
	}
	return n
}

// TestPresenceResetWhenTheFlushFails: a reconnect forgets who was here
// even for the sightings still in memory because writing them failed (no
// database here): they came before the reconnect, like the stored ones
// the reset marks absent, and !seen answers from them.
func TestPresenceResetWhenTheFlushFails(t *testing.T) {
	c := newClock()
	h := start(t, c, roseytest.WithoutDatabase())
	h.Say("cat", "yo")
	publish(t, h, protocol.Chat, protocol.ChatMessage{User: "dan", Message: "hey", Channel: "den"})
	h.Say("alice", "!seen cat") // a barrier: cat's and dan's lines are taken in
	h.Expect(`👀 cat is here now. Last said just now: "yo"`)
	publish(t, h, protocol.Connection, protocol.ConnectionEvent{Channel: roseytest.Channel, State: protocol.StateConnected})
	h.Say("alice", "!seen cat")
	h.Expect(`👀 cat was last seen just now. Last said just now: "yo"`)
	// Another channel's presence is kept, as in the database.
	h.Say("alice", "!seen dan")
	h.Expect(`👀 dan is in den now. Last said just now: "hey"`)
	// With no database, stopping says what it could not store.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.Bot().Stop(ctx)
	is.New(t).True(err != nil && strings.Contains(err.Error(), "sightings could not be stored"))
}
