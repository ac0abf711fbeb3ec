package greeter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/greeter"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type visitor struct {
	Here     bool   `json:"here"`
	Visits   int    `json:"visits"`
	Greeting string `json:"greeting"`
}

// load reads a visitor's record from the plugin's namespace; ok is false
// when there is none.
func load(t *testing.T, db *database.Client, channel, user string) (visitor, bool) {
	t.Helper()
	var v visitor
	err := db.Get(context.Background(), greeter.DefaultCollection, database.StringID(strings.ToLower(channel+"/"+user)), &v)
	if errors.Is(err, database.ErrNotFound) {
		return v, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// bot starts a bot with the greeter in srv's channel, on clock.
func bot(t *testing.T, srv *cytubetest.Server, clock *roseytest.Clock, dir string, section map[string]any) (*channeltest.Channel, *database.Client) {
	t.Helper()
	ch := channeltest.Start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir),
		channeltest.WithPlugins(greeter.New(greeter.Config{})), channeltest.WithPluginConfig(greeter.Name, section),
		channeltest.WithConfig(func(c *rosey.Config) {
			c.Clock = clock
			c.CyTube.HandshakeTimeout = 3 * time.Second
		}))
	return ch, database.NewClient(ch.Bot.Bus()).Namespace(greeter.Name)
}

// TestFirstVisitAndReturn: a first-time visitor is welcomed, a quick
// return is not greeted, a return after the absence is; users present
// before the bot came, the bot itself and ignored users are never
// greeted; the texts are the channel's own.
func TestFirstVisitAndReturn(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join(channeltest.DefaultChannel, "regular", 1) // here before the bot
	clock := roseytest.NewClock(epoch)
	ch, db := bot(t, srv, clock, t.TempDir(), map[string]any{
		"settle": "0s", "ignore": []string{"OtherBot"},
		"channels": map[string]any{"lounge": map[string]any{"welcome_back": "🌷 {user} is back after {absence}!"}},
	})
	gone := func(user string) {
		t.Helper()
		srv.Leave(ch.Name, user)
		ch.Eventually(user+" recorded as gone", func() bool { v, ok := load(t, db, ch.Name, user); return ok && !v.Here })
	}

	ch.Join("alice", 1)
	ch.Expect("👋 Welcome to lounge, alice!")
	gone("alice")
	ch.Join("alice", 1) // back at once: not greeted
	gone("regular")     // known from their leave on
	ch.Join("regular", 1)
	ch.Join("OtherBot", 1)
	ch.Join("bob", 0)
	ch.Expect("👋 Welcome to lounge, bob!") // joins are handled in order: the three above were passed over
	is.Equal(ch.Count("alice"), 1)
	is.Equal(ch.Count("regular"), 0)
	is.Equal(ch.Count("OtherBot"), 0)
	is.Equal(ch.Count(ch.BotName), 0)
	v, _ := load(t, db, ch.Name, "alice")
	is.Equal(v.Visits, 2)

	gone("alice")
	clock.Advance(13 * time.Hour)
	ch.Join("alice", 1)
	ch.Expect("🌷 alice is back after 13h!")
}

// TestPersonalGreetingSurvivesRestart: !greeting sets, shows and clears a
// user's greeting (registered users only, bounded); after a restart the
// bot still knows who visited and greets with the personal text.
func TestPersonalGreetingSurvivesRestart(t *testing.T) {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	section := map[string]any{"settle": "0s", "max_greeting": 30}
	srv.Join(channeltest.DefaultChannel, "old", 1) // here before the bot
	first, db := bot(t, srv, clock, dir, section)
	first.Say("old", "!greeting Old timer here")
	first.Expect("💬 old, from now on I greet you back with: Old timer here")
	srv.Leave(first.Name, "old")
	first.Eventually("old recorded as gone", func() bool { v, ok := load(t, db, first.Name, "old"); return ok && !v.Here })
	first.Join("old", 1) // back at once: known (from the command and the leave), so not a first visit
	first.Join("alice", 1)
	first.Expect("👋 Welcome to lounge, alice!")
	first.Join("bob", 1)
	first.Expect("👋 Welcome to lounge, bob!")
	if n := first.Count("old"); n != 1 { // the command's answer only
		t.Fatalf("old was greeted: %q", first.Said())
	}
	first.Say("alice", "!greeting")
	first.Expect("💬 alice, you have no greeting. Set one with !greeting <text>.")
	first.Say("gus", "!greeting hello all")
	first.Expect("⛔ !greeting needs rank registered user or higher.")
	first.Say("bob", "!greeting "+strings.Repeat("x", 31))
	first.Expect("❌ A greeting is at most 30 characters (that one has 31).")
	clock.Advance(10 * time.Second) // the command's cooldown
	first.Say("alice", "!greeting The queen has arrived 👑")
	first.Expect("💬 alice, from now on I greet you back with: The queen has arrived 👑")
	for _, u := range []string{"alice", "bob"} {
		srv.Leave(first.Name, u)
		first.Eventually(u+" recorded as gone", func() bool { v, ok := load(t, db, first.Name, u); return ok && !v.Here })
	}
	first.Stop()

	clock.Advance(24 * time.Hour)
	second, _ := bot(t, srv, clock, dir, section)
	second.Join("alice", 1)
	second.Expect("👋 alice: The queen has arrived 👑")
	second.Join("bob", 1)
	second.Expect("👋 Welcome back, bob!") // not a first visit: the first bot recorded it
	second.Say("alice", "!greeting")
	second.Expect("💬 alice, your greeting: The queen has arrived 👑")
	clock.Advance(10 * time.Second)
	second.PM("alice", "!greeting off")
	second.ExpectPM("alice", "💬 alice, your greeting is off.")
}

// TestMassJoinAndRejoin: a mass join is greeted up to the channel's rate;
// when the bot comes back after losing its connection, the users the
// connector finds (joined while it was away) are not greeted, and the
// next real arrival is.
func TestMassJoinAndRejoin(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	clock := roseytest.NewClock(epoch)
	ch, db := bot(t, srv, clock, t.TempDir(), map[string]any{"settle": "0s", "rate": 3, "rate_window": "1m"})
	for i := range 10 {
		ch.Join(fmt.Sprintf("user%d", i), 1)
	}
	ch.Eventually("record ten visitors", func() bool {
		_, ok := load(t, db, ch.Name, "user9")
		return ok
	})
	is.Equal(ch.Count("👋 Welcome to lounge"), 3)

	clock.Advance(2 * time.Minute) // a fresh rate window: only the rejoin rule holds greetings back now
	srv.StallJoins(true)           // the bot cannot get back in before newbie is there
	srv.DropAll()
	srv.Join(ch.Name, "newbie", 1)
	srv.StallJoins(false)
	if err := srv.WaitUser(ch.Context(), ch.Name, ch.BotName); err != nil {
		t.Fatal(err)
	}
	ch.Eventually("record newbie", func() bool { _, ok := load(t, db, ch.Name, "newbie"); return ok })
	ch.Join("carol", 1)
	ch.Expect("👋 Welcome to lounge, carol!")
	is.Equal(ch.Count("newbie"), 0)
	is.Equal(ch.Count("👋 Welcome to lounge"), 4) // nobody present was greeted again
}

// TestSettleAfterJoining: joins in the settle time after the bot's
// connector reports it joined are not greeted (a connector that reports
// the users it finds as joins).
func TestSettleAfterJoining(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	h := roseytest.New(t, roseytest.WithPlugins(greeter.New(greeter.Config{})), roseytest.WithClock(clock),
		roseytest.WithPluginConfig(greeter.Name, map[string]any{"settle": "10s"}))
	db := h.DB().Namespace(greeter.Name)
	pub := func(subject string, v any) {
		t.Helper()
		is.NoErr(h.Bus().Publish(context.Background(), subject, v))
	}
	pub(protocol.Connection, protocol.ConnectionEvent{Channel: roseytest.Channel, State: protocol.StateConnected, User: "RoseyBot"})
	pub(protocol.UserJoin, protocol.UserJoinEvent{Channel: roseytest.Channel, User: "early", Rank: 1})
	pub(protocol.UserJoin, protocol.UserJoinEvent{Channel: roseytest.Channel, User: "RoseyBot", Rank: 1})
	deadline := time.Now().Add(channeltest.Timeout)
	for { // early's visit is recorded: the connection event before it was handled
		if _, ok := load(t, db, roseytest.Channel, "early"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("early's visit was never recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	clock.Advance(11 * time.Second)
	pub(protocol.UserJoin, protocol.UserJoinEvent{Channel: roseytest.Channel, User: "late", Rank: 1})
	h.Expect("👋 Welcome to test, late!")
	h.ExpectNone()
	_, ok := load(t, db, roseytest.Channel, "RoseyBot")
	is.True(!ok) // the bot is not a visitor
}

// TestBadConfig: a config the plugin cannot use stops it, naming the field.
func TestBadConfig(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct {
		section map[string]any
		want    string
	}{
		{map[string]any{"welcome": "Hi {name}"}, "welcome: unknown placeholder {name}"},
		{map[string]any{"channels": map[string]any{"lounge": map[string]any{"welcome_back": "/kick {user}"}}}, "channels.lounge.welcome_back: must not start with /"},
		{map[string]any{"rate": 500}, "rate: 500 is not between 1 and 100"},
		{map[string]any{"settle": "1h"}, "settle: 1h0m0s is not between 0s and 10m"},
		{map[string]any{"absence": 5}, "has no unit"},
		{map[string]any{"greet": true}, `unknown field "greet"`},
	} {
		h := roseytest.New(t, roseytest.WithPlugins(greeter.New(greeter.Config{})), roseytest.WithPluginConfig(greeter.Name, c.section),
			roseytest.WithLogLevel(slog.LevelError+1))
		var st supervisor.Status
		for _, s := range h.Bot().Plugins().Status() {
			if s.Info.Name == greeter.Name {
				st = s
			}
		}
		is.Equal(st.State, plugin.StateFailed)
		if !strings.Contains(st.LastError, c.want) {
			t.Errorf("config %v: error %q does not say %q", c.section, st.LastError, c.want)
		}
	}
}

// TestHelpListsGreeting: !help describes the command, rank and cooldown.
func TestHelpListsGreeting(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), greeter.New(greeter.Config{})))
	h.Say("alice", "!help greeting")
	h.Expect("📖 !greeting [text|off] — Sets the greeting said when you come back (registered users) · rank: registered user or higher · cooldown: 5s · plugin: welcome")
}

// TestSeveralChannels: one bot in two channels greets in each with that
// channel's texts, and a visit to one is not a visit to the other.
func TestSeveralChannels(t *testing.T) {
	clock := roseytest.NewClock(epoch)
	lounge := channeltest.Start(t, channeltest.WithChannels("cinema"), channeltest.WithPlugins(greeter.New(greeter.Config{})),
		channeltest.WithPluginConfig(greeter.Name, map[string]any{"settle": "0s",
			"channels": map[string]any{"cinema": map[string]any{"welcome": "🎬 {user}, grab some popcorn!"}}}),
		channeltest.WithConfig(func(c *rosey.Config) { c.Clock = clock }))
	cinema := lounge.In("cinema")
	cinema.Join("alice", 1)
	cinema.Expect("🎬 alice, grab some popcorn!")
	lounge.Join("alice", 1)
	lounge.Expect("👋 Welcome to lounge, alice!")
	if lounge.Count("popcorn") != 0 || cinema.Count("Welcome to lounge") != 0 {
		t.Fatalf("a greeting went to the wrong channel: %q / %q", lounge.Said(), cinema.Said())
	}
}
