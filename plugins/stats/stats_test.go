package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/playlist"
	"github.com/roseybot/rosey/plugins/stats"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
	"github.com/roseybot/rosey/router"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// bot starts a bot with the stats plugin (and more) in srv's channel, on
// clock, keeping its data in dir.
func bot(t *testing.T, srv *cytubetest.Server, clock *roseytest.Clock, dir string, section map[string]any, more ...channeltest.Option) *channeltest.Channel {
	t.Helper()
	opts := append([]channeltest.Option{channeltest.WithServer(srv), channeltest.WithDataDir(dir),
		channeltest.WithPlugins(stats.New(stats.Config{})), channeltest.WithPluginConfig(stats.Name, section),
		channeltest.WithConfig(func(c *rosey.Config) { c.Clock = clock })}, more...)
	return channeltest.Start(t, opts...)
}

func newServer(t *testing.T) *cytubetest.Server {
	srv := cytubetest.NewServer(cytubetest.Fast())
	t.Cleanup(srv.Close)
	return srv
}

var song = cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never Gonna Give You Up", Seconds: 212}

// writes counts the stats plugin's database writes (set, update and delete
// requests on its namespace's subjects) as the database service receives
// them.
func writes(t *testing.T, bus *eventbus.Bus) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	sub, err := bus.Subscribe("database."+stats.Name+".>", func(_ context.Context, ev *eventbus.Event) {
		switch ev.Subject[strings.LastIndex(ev.Subject, ".")+1:] {
		case "set", "update", "delete":
			n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestCounts: lines, commands, queued items and time present (join to
// leave, on the test's clock) are counted per user; !top ranks them.
func TestCounts(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	ch := bot(t, srv, clock, t.TempDir(), nil)

	ch.Join("bob", 1)
	ch.Say("bob", "hello")
	ch.Say("bob", "how are you")
	srv.Queue(ch.Name, "bob", song, false)
	srv.Queue(ch.Name, "bob", cytubetest.Media{Type: "cu", ID: "x", Title: "X", Seconds: 60}, false)
	// The bot's own item counts for nobody.
	srv.Queue(ch.Name, ch.BotName, cytubetest.Media{Type: "cu", ID: "y", Title: "Y", Seconds: 60}, false)
	ch.Say("bob", "!stats") // counted itself: a line and a command
	ch.Expect("📊 bob: 3 lines, 1 command, 2 items queued, here 0s in all; first seen just now, here now.")

	clock.Advance(2*time.Hour + 30*time.Second)
	srv.Leave(ch.Name, "bob")
	ch.Say("alice", "!stats bob")
	ch.Expect("📊 bob: 3 lines, 1 command, 2 items queued, here 2h in all; first seen 2h ago, last seen just now.")
	ch.Say("alice", "!top chatters")
	ch.Expect("🏆 Top chatters: 1. bob (3), 2. alice (2)")
	ch.Say("carol", "!top queuers")
	if top := ch.Expect("🏆 Top queuers: 1. bob (2)"); strings.Contains(top, ch.BotName) {
		t.Fatalf("the bot is ranked: %s", top)
	}
	ch.Say("carol", "!stats @ALICE")
	ch.Expect("📊 alice: 2 lines, 2 commands, 0 items queued, here 0s in all; first seen just now, here now.")
	ch.Say("carol", "!stats zed")
	ch.Expect("🤷 I have no stats for zed here.")
	ch.Say("carol", "!stats two names")
	ch.Expect("❌ Usage: !stats [user]")
	clock.Advance(3 * time.Second) // !top's cooldown
	ch.Say("carol", "!top talkers")
	ch.Expect("❌ Usage: !top chatters|queuers")
	// "!" alone and "!!!" are not commands; a PM command is a command, not a line.
	ch.Say("dave", "!")
	ch.Say("dave", "!!! wow")
	ch.PM("dave", "!stats")
	ch.ExpectPM("dave", "📊 dave: 2 lines, 1 command, 0 items queued")
}

// A burst of chat costs one write per user at the next flush (two for a
// user new to the channel), not one per line.
func TestBatchedWrites(t *testing.T) {
	is := is.New(t)
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	ch := bot(t, srv, clock, t.TempDir(), nil)
	n := writes(t, ch.Bot.Bus())
	users := []string{"ann", "ben", "cat", "dan"}
	for i := range 200 {
		ch.Say(users[i%len(users)], fmt.Sprintf("line %d", i))
	}
	ch.Say("ann", "!stats")
	ch.Expect("📊 ann: 51 lines, 1 command")
	is.Equal(n.Load(), int64(0)) // nothing written before the interval is up

	clock.WaitTimers(1)
	clock.Advance(stats.DefaultFlushInterval)
	ch.Eventually("flushed", func() bool { return n.Load() >= 8 }) // four new users: upsert and first_seen each
	// Written within one interval: a crash from now on loses none of it.
	db := database.NewClient(ch.Bot.Bus()).Namespace(stats.Name)
	ch.Eventually("ben's counts stored", func() bool {
		var doc map[string]any
		return db.Get(context.Background(), stats.DefaultCollection, database.StringID(ch.Name+"/ben"), &doc) == nil &&
			doc["lines"] == float64(50) && doc["name"] == "ben" && doc["first_seen"] == float64(epoch.UnixMilli())
	})
	ch.Say("ann", "!stats ben")
	ch.Expect("📊 ben: 50 lines, 0 commands, 0 items queued, here 5s in all; first seen 5s ago, here now.")
	is.Equal(n.Load(), int64(8)) // 202 lines: 8 writes
}

// As soon as max_pending users wait to be written, a flush starts without
// waiting for the interval.
func TestFlushOnSize(t *testing.T) {
	srv := newServer(t)
	ch := bot(t, srv, roseytest.NewClock(epoch), t.TempDir(), map[string]any{"flush_interval": "1h", "max_pending": 3})
	n := writes(t, ch.Bot.Bus())
	// A barrier first: the bot's arrival is counted (it lists the users
	// present), so the users below are not also found by that listing and
	// pending twice, which would flush them twice.
	ch.Say("ann", "!stats")
	ch.Expect("📊 ann: 1 line, 1 command")
	ch.Say("ben", "two")
	ch.Say("cat", "three") // cat's join makes three pending: a flush
	ch.Eventually("flushed three users", func() bool { return n.Load() == 6 })
	// Whatever the flush left (cat's line, if it came after) is one user:
	// no second flush.
	ch.Say("ann", "!stats cat")
	ch.Expect("📊 cat: 1 line, 0 commands")
	is.New(t).Equal(n.Load(), int64(6))
}

// TestRestartKeepsCounts: a clean stop writes everything in memory (no
// flush interval passed), and counts the time of the users still present
// up to the stop; the next bot goes on from there.
func TestRestartKeepsCounts(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	section := map[string]any{"flush_interval": "1h"}
	first := bot(t, srv, clock, dir, section)
	first.Join("carol", 1)
	first.Say("bob", "hello")
	srv.Queue(first.Name, "bob", song, false)
	first.Say("carol", "!stats bob")
	first.Expect("📊 bob: 1 line, 0 commands, 1 item queued")
	clock.Advance(30 * time.Minute)
	first.Stop()

	clock.Advance(time.Hour) // the bot is away: carol's time is not counted
	second := bot(t, srv, clock, dir, section)
	second.Say("bob", "back")
	second.Say("dave", "!stats bob") // a barrier: the bot's arrival and the lines before are counted
	second.Expect("📊 bob: 2 lines, 0 commands, 1 item queued, here 30m in all; first seen 1h 30m ago, here now.")
	clock.Advance(10 * time.Minute)
	second.Say("dave", "!stats bob")
	second.Expect("📊 bob: 2 lines, 0 commands, 1 item queued, here 40m in all; first seen 1h 40m ago, here now.")
	second.Say("dave", "!stats carol")
	second.Expect("📊 carol: 1 line, 1 command, 0 items queued, here 40m in all; first seen 1h 40m ago, here now.")
}

// TestReconnect: while the bot is away nobody's time counts; once it is
// back, the users CyTube lists (no join is announced for them) are present
// again.
func TestReconnect(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	ch := bot(t, srv, clock, t.TempDir(), nil)
	var heard atomic.Int64 // carol's "anyone there?" lines the connector published
	sub, err := ch.Bot.Bus().Subscribe(protocol.Chat, func(_ context.Context, ev *eventbus.Event) {
		var m protocol.ChatMessage
		if ev.Decode(&m) == nil && m.Message == "anyone there?" {
			heard.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	ch.Join("bob", 1)
	ch.Say("carol", "!stats bob")
	ch.Expect("📊 bob: 0 lines, 0 commands, 0 items queued, here 0s in all; first seen just now, here now.")
	clock.Advance(10 * time.Minute)

	srv.DropAll()
	// The connector passes over the lines said before it is back in the
	// channel: say one until it is heard.
	ch.Eventually("the bot back", func() bool {
		ch.Say("carol", "anyone there?")
		time.Sleep(20 * time.Millisecond)
		return heard.Load() > 0
	})
	ch.Say("carol", "!stats bob") // after the bot's arrival: bob is present again
	ch.Expect("📊 bob: 0 lines, 0 commands, 0 items queued, here 10m in all; first seen 10m ago, here now.")
	clock.Advance(5 * time.Minute)
	ch.Say("carol", "!stats bob")
	ch.Expect("here 15m in all; first seen 15m ago, here now.")
}

// TestPerChannel: one bot in two channels counts each apart, and each
// channel's prefix decides what is a command there.
func TestPerChannel(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	lounge := bot(t, srv, clock, t.TempDir(), map[string]any{"channels": map[string]any{"den": map[string]any{"prefix": "?"}}},
		channeltest.WithChannels("den"),
		channeltest.WithConfig(func(c *rosey.Config) {
			c.Router.Channels = map[string]router.ChannelConfig{"den": {Prefix: "?"}}
		}))
	den := lounge.In("den")
	lounge.Say("bob", "hi lounge")
	den.Say("bob", "hi den")
	den.Say("bob", "!not a command here")
	den.Say("bob", "?stats")
	den.Expect("📊 bob: 3 lines, 1 command")
	lounge.Say("bob", "!stats")
	lounge.Expect("📊 bob: 2 lines, 1 command")
	srv.Queue("den", "eve", song, false)
	den.Say("bob", "?top queuers")
	den.Expect("🏆 Top queuers: 1. eve (1)")
	lounge.Say("zoe", "!top queuers") // bob waits out !top's cooldown
	lounge.Expect("🏆 Nobody has queued anything here yet.")
}

// TestHelpListsTheCommands: !help shows !stats and !top.
func TestHelpListsTheCommands(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(stats.New(stats.Config{}), help.New(help.Config{})))
	h.Say("alice", "!help stats")
	h.Expect("📖 !stats [user] — Shows what a user (or you) did in this channel")
	h.Say("alice", "!help top")
	h.Expect("📖 !top chatters|queuers — Lists who said the most lines, or queued the most items")
	h.Say("alice", "!help")
	r := h.Expect("📖 Commands")
	if !strings.Contains(r.Message, "!stats") || !strings.Contains(r.Message, "!top") {
		t.Fatalf("!help does not list !stats and !top: %s", r.Message)
	}
}

// TestBadInput: malformed events and hostile names are passed over, and
// the plugin goes on counting; a bad config is refused with its field.
func TestBadInput(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(stats.New(stats.Config{})))
	for _, subject := range []string{protocol.Chat, protocol.UserJoin, protocol.UserLeave, protocol.PlaylistQueued, protocol.Connection} {
		if err := h.Bus().Conn().Publish(subject, []byte(`{"user": 42, "channel": [`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Bus().Publish(context.Background(), protocol.PlaylistQueued, protocol.PlaylistQueuedEvent{Channel: roseytest.Channel, QueuedBy: strings.Repeat("x", 500)}); err != nil {
		t.Fatal(err)
	}
	h.Say("alice", "hello")
	h.Say("alice", "!stats")
	h.Expect("📊 alice: 2 lines, 1 command, 0 items queued")
	h.Say("alice", "!stats "+strings.Repeat("x", 500))
	h.Expect("❌ Usage: !stats [user]")

}

// TestBadConfig: a config the plugin cannot use stops it, naming the field.
func TestBadConfig(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct {
		section map[string]any
		want    string
	}{
		{map[string]any{"top": 99}, "top: 99 is not between 1 and 20"},
		{map[string]any{"flush_interval": "-1s"}, "flush_interval: -1s must not be negative"},
		{map[string]any{"flush_interval": 5}, "has no unit"},
		{map[string]any{"max_pending": -1}, "max_pending: -1 must not be negative"},
		{map[string]any{"prefix": "a b"}, `prefix: "a b" must be 1-8 characters without spaces`},
		{map[string]any{"channels": map[string]any{"x": map[string]any{"prefix": "! !"}}}, "(in channels.x)"},
	} {
		h := roseytest.New(t, roseytest.WithPlugins(stats.New(stats.Config{})), roseytest.WithPluginConfig(stats.Name, c.section),
			roseytest.WithLogLevel(slog.LevelError+1))
		var st supervisor.Status
		for _, s := range h.Bot().Plugins().Status() {
			if s.Info.Name == stats.Name {
				st = s
			}
		}
		is.Equal(st.State, plugin.StateFailed)
		is.True(strings.Contains(st.LastError, c.want)) // names the field
	}
}

// An item the playlist plugin queued for someone (!add) is theirs, though
// CyTube says the bot queued it.
func TestItemsAddedThroughThePlaylistPlugin(t *testing.T) {
	srv := newServer(t)
	srv.AddMedia(song)
	ch := bot(t, srv, roseytest.NewClock(epoch), t.TempDir(), nil,
		channeltest.WithPlugins(playlist.New(playlist.Config{})), channeltest.WithBotRank(2))
	ch.Join("bob", 1)
	ch.Say("bob", "!add https://youtu.be/"+song.ID)
	ch.Expect("✅ Queued")
	// The playlist's event and the chat line reach stats on two
	// subscriptions: ask until the event is in (or the deadline).
	deadline := time.Now().Add(20 * time.Second)
	for {
		ch.Say("bob", "!stats")
		got := ch.Expect("📊 bob:")
		if strings.Contains(got, ", 1 item queued,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item bob asked for is not his: %s", got)
		}
	}
	ch.Say("alice", "!top queuers")
	ch.Expect("🏆 Top queuers: 1. bob (1)")
}

// TestWaitingCommandHoldsUpNoOtherUser: a !stats waiting for its own line
// (one that never comes: up to 2s) does not hold up another user's
// !stats, which is answered meanwhile: the plugin serves commands side by
// side.
func TestWaitingCommandHoldsUpNoOtherUser(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(stats.New(stats.Config{})))
	h.Say("bob", "hello")
	stuck := make(chan string, 1)
	go func() {
		ctx := eventbus.WithCorrelationID(context.Background(), "a-line-never-said")
		ev, err := h.Bus().Request(ctx, protocol.PluginCommand(stats.Name), plugin.Request{
			Command: "stats", Args: []string{"bob"}, Text: "bob", User: "dave", Channel: roseytest.Channel, Source: plugin.SourceChat})
		if err != nil {
			stuck <- err.Error()
			return
		}
		stuck <- string(ev.Data)
	}()
	eventually(t, "received the waiting !stats", func() bool { return commandsReceived(t, h) == 1 })
	h.Say("alice", "!stats bob")
	h.Expect("📊 bob: 1 line, 0 commands")
	select {
	case got := <-stuck:
		t.Fatalf("the waiting !stats was answered first: %s", got)
	default:
	}
	select {
	case got := <-stuck:
		is.True(strings.Contains(got, "📊 bob: 1 line, 0 commands"))
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting !stats was never answered")
	}
}

// commandsReceived asks the stats plugin's micro service how many commands
// it has received ($SRV.STATS).
func commandsReceived(t *testing.T, h *roseytest.Harness) int {
	t.Helper()
	m, err := h.Bus().Conn().Request("$SRV.STATS."+stats.Name, nil, 5*time.Second)
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
