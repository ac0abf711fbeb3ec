package cytube_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// unpacedCaps clears the test config's extra Rate/Burst cap, so only the
// channel's own rules pace the bot.
func unpacedCaps(c *cytube.Config) { c.Rate, c.Burst = 0, 0 }

// eventually waits (with the generous test deadline) until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A burst of commands in a channel without antiflood is answered without
// the pace holding back a single line: CyTube allows 20 at once.
func TestBurstWithoutAntiFloodIsNotHeld(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	echo(t, h.bus)
	h.waitState(0, protocol.StateConnected)
	p := h.conn.Stats().Pace
	is.Equal(p, cytube.Pace{Burst: 20, Sustained: 10, Cooldown: 2 * time.Second}) // CyTube's own per-user limit
	for i := 0; i < 10; i++ {
		h.srv.Say("test", "alice", "!echo "+itoa(i))
	}
	h.waitBotSaid("echo: 9")
	is.Equal(len(h.botLines()), 10)
	is.Equal(h.conn.Stats().Paced, uint64(0)) // none waited
	is.Equal(h.srv.Stats().Cooldowns, 0)
}

// With antiflood on, the bot paces to the channel's parameters: every
// answer arrives, in order, and the server drops none.
func TestAntiFloodAllArriveNoneDropped(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 3, AntiFloodSustained: 10})
	h.waitState(0, protocol.StateConnected)
	is.Equal(h.conn.Stats().Pace, cytube.Pace{Burst: 3, Sustained: 10, Cooldown: 300 * time.Millisecond, AntiFlood: true})
	const n = 12
	for i := 0; i < n; i++ { // twelve answers at once
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "echo: " + itoa(i)})
	}
	h.waitBotSaid("echo: " + itoa(n-1))
	lines := h.botLines()
	is.Equal(len(lines), n)
	for i, l := range lines {
		is.Equal(l, "echo: "+itoa(i))
	}
	is.Equal(h.srv.Stats().Cooldowns, 0) // paced exactly: nothing dropped
	is.True(h.conn.Stats().Paced >= 1)   // the pace held lines back
	is.Equal(h.conn.Stats().Cooldowns, uint64(0))
}

// The connector follows channelOpts as an admin changes them, and the
// bot's rank: from rank 2 antiflood no longer applies.
func TestPaceFollowsChannelOptionsAndRank(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	h.waitState(0, protocol.StateConnected)
	is.Equal(h.conn.Stats().Pace.Burst, 20)

	h.srv.UpdateChannel("test", func(c *cytubetest.ChannelConfig) {
		c.AntiFlood, c.AntiFloodBurst, c.AntiFloodSustained = true, 2, 5
	})
	eventually(t, "antiflood adopted", func() bool { return h.conn.Stats().Pace.AntiFlood })
	is.Equal(h.conn.Stats().Pace, cytube.Pace{Burst: 2, Sustained: 5, Cooldown: 400 * time.Millisecond, AntiFlood: true})
	for i := 0; i < 6; i++ {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "line " + itoa(i)})
	}
	h.waitBotSaid("line 5")
	is.Equal(h.srv.Stats().Cooldowns, 0)

	h.srv.SetRank("test", "bot", protocol.RankModerator)
	eventually(t, "moderator pace", func() bool { return !h.conn.Stats().Pace.AntiFlood })
	is.Equal(h.conn.Stats().Pace.Burst, 20)

	h.srv.SetRank("test", "bot", protocol.RankGuest)
	eventually(t, "guest pace", func() bool { return h.conn.Stats().Pace.AntiFlood })
	h.srv.UpdateChannel("test", func(c *cytubetest.ChannelConfig) { c.AntiFlood = false })
	eventually(t, "antiflood off", func() bool { return !h.conn.Stats().Pace.AntiFlood })
	is.Equal(h.conn.Stats().Pace.Burst, 20)
}

// Ten identical lines said in the same millisecond are ten live lines,
// not a replay: each is published.
func TestIdenticalLinesInOneMillisecondAllPublished(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	frozen := time.UnixMilli(1795843084650)
	scfg.Clock = func() time.Time { return frozen }
	h := newHarness(t, scfg, unpacedCaps)
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)
	for i := 0; i < 10; i++ {
		h.srv.Say("test", "alice", "!echo 1d1")
	}
	h.srv.Say("test", "alice", "!echo marker")
	h.waitBotSaid("echo: marker")
	n := 0
	for _, l := range h.botLines() {
		if l == "echo: 1d1" {
			n++
		}
	}
	is.Equal(n, 10)

	// After a reconnect the history (the same lines, same time) is not
	// published again.
	h.srv.DropAll()
	_, at = h.waitState(at+1, protocol.StateReconnecting)
	_, at = h.waitState(at+1, protocol.StateConnected)
	h.srv.Say("test", "alice", "!echo after")
	h.waitBotSaid("echo: after")
	// The echo may reach CyTube before this harness's own subscription has
	// recorded the line: wait for it, then count every chat line up to it.
	_, last := h.waitEvent(at, protocol.Chat, func(ev *eventbus.Event) bool {
		var m protocol.ChatMessage
		return ev.Decode(&m) == nil && m.Message == "!echo after"
	})
	chats := 0
	h.mu.Lock()
	for _, ev := range h.events[at : last+1] {
		if ev.Subject == protocol.Chat {
			chats++
		}
	}
	h.mu.Unlock()
	is.Equal(chats, 1) // only "!echo after"
}

// A reply split into parts never starts a later part with the command
// prefix or '/', and the parts of one reply are never interleaved with
// another's, even when the server drops lines and they are sent again.
func TestReplyPartsGuardedAndContiguous(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	// Rules the bot cannot see: it sends too fast and lines are dropped.
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 2, AntiFloodSustained: 10, HideAntiFlood: true})
	h.waitState(0, protocol.StateConnected)

	long := strings.Repeat("a", 315) + " !roll 1d6 and more"
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "first\n!second\n/third\n" + long})
	var want []string
	for r := 0; r < 2; r++ {
		var parts []string
		for i := 0; i < 4; i++ {
			parts = append(parts, fmt.Sprintf("reply %d part %d", r, i))
		}
		want = append(want, parts...)
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: strings.Join(parts, "\n")})
	}
	h.waitBotSaid("reply 1 part 3")
	lines := h.botLines()
	is.Equal(len(lines), 5+len(want)) // every part arrived once
	is.Equal(lines[0], "first")
	is.Equal(lines[1], "\u200b!second") // a zero-width space in front: not a command
	is.Equal(lines[2], "\u200b/third")
	is.Equal(lines[3], strings.Repeat("a", 315))
	is.Equal(lines[4], "\u200b!roll 1d6 and more")
	is.Equal(lines[5:], want) // in order, parts together
	is.True(h.conn.Stats().Cooldowns >= 1)
}

// A cooldown pauses and resends exactly the line it dropped, once.
func TestCooldownResendsTheDroppedLineOnce(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 1, AntiFloodSustained: 10, HideAntiFlood: true})
	h.waitState(0, protocol.StateConnected)
	for i := 0; i < 5; i++ {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "x" + itoa(i)})
	}
	h.waitBotSaid("x4")
	is.Equal(h.botLines(), []string{"x0", "x1", "x2", "x3", "x4"})
	is.True(h.conn.Stats().Cooldowns >= 1)
}

// A line the server has not counted yet (busy, or a slow link) keeps the
// limiter from resetting however quiet the bot has been: lines sent after
// a cooldown's quiet would reach the server with it, as one burst, and be
// dropped.
func TestPaceWaitsForLinesNotYetCounted(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 2, AntiFloodSustained: 5})
	h.waitState(0, protocol.StateConnected)
	is.Equal(h.conn.Stats().Pace.Cooldown, 400*time.Millisecond)
	h.srv.Hold("chatMsg") // received, counted only at Release
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "line 0"})
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "line 1"})
	eventually(t, "the burst sent", func() bool { return h.conn.Stats().MessagesOut >= 2 })
	time.Sleep(600 * time.Millisecond) // longer than the cooldown: quiet, as far as the bot can tell
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "line 2"})
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "line 3"})
	time.Sleep(300 * time.Millisecond) // what the bot would send now goes out before the release
	h.srv.Release()
	h.waitBotSaid("line 3")
	is.Equal(h.srv.Stats().Cooldowns, 0) // nothing dropped
	lines := h.botLines()
	is.Equal(lines, []string{"line 0", "line 1", "line 2", "line 3"})
}
