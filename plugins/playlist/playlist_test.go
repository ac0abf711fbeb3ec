package playlist_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/playlist"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The media the fake server knows (it cannot look anything up).
var (
	alpha   = cytubetest.Media{Type: "yt", ID: "alpha000001", Title: "Alpha", Seconds: 200}
	bravo   = cytubetest.Media{Type: "yt", ID: "bravo000002", Title: "Bravo", Seconds: 180}
	charlie = cytubetest.Media{Type: "yt", ID: "charlie0003", Title: "Charlie", Seconds: 240}
	delta   = cytubetest.Media{Type: "yt", ID: "delta000004", Title: "Delta", Seconds: 1500}
	rick    = cytubetest.Media{Type: "yt", ID: "rickroll005", Title: "Never Gonna Give You Up", Seconds: 212}
	echo    = cytubetest.Media{Type: "yt", ID: "echo0000006", Title: "Echo", Seconds: 300}
	foxtrot = cytubetest.Media{Type: "yt", ID: "foxtrot0007", Title: "Foxtrot", Seconds: 300}
)

func link(m cytubetest.Media) string { return "https://youtu.be/" + m.ID }

func newServer(t *testing.T) *cytubetest.Server {
	srv := cytubetest.NewServer(cytubetest.Fast())
	t.Cleanup(srv.Close)
	for _, m := range []cytubetest.Media{alpha, bravo, charlie, delta, rick, echo, foxtrot} {
		srv.AddMedia(m)
	}
	return srv
}

// start runs a bot with the playlist plugin in srv's channel, on clock.
func start(t *testing.T, srv *cytubetest.Server, clock *roseytest.Clock, dir string, section map[string]any, opts ...channeltest.Option) *channeltest.Channel {
	t.Helper()
	opts = append([]channeltest.Option{channeltest.WithServer(srv), channeltest.WithDataDir(dir),
		channeltest.WithPlugins(playlist.New(playlist.Config{})), channeltest.WithPluginConfig(playlist.Name, section),
		channeltest.WithConfig(func(c *rosey.Config) { c.Clock = clock })}, opts...)
	ch := channeltest.Start(t, opts...)
	ch.Join("alice", 1)
	ch.Join("bob", 0)
	ch.Join("carol", 0)
	ch.Join("mod", 2)
	ch.Join("admin", 3)
	return ch
}

// titles lists the fake channel's playlist, the one playing marked ▶.
func titles(ch *channeltest.Channel) []string {
	items, cur := ch.Server.Playlist(ch.Name)
	var out []string
	for _, it := range items {
		t := it.Media.Title
		if it.UID == cur {
			t = "▶" + t
		}
		out = append(out, t)
	}
	return out
}

type play struct {
	Title     string  `json:"title"`
	QueuedBy  string  `json:"queued_by"`
	Played    float64 `json:"played"`
	Skipped   bool    `json:"skipped"`
	SkippedBy string  `json:"skipped_by"`
	Status    string  `json:"status"`
}

// plays reads the plays the plugin recorded, oldest first.
func plays(t *testing.T, ch *channeltest.Channel) []play {
	t.Helper()
	db := database.NewClient(ch.Bot.Bus()).Namespace(playlist.Name)
	res, err := db.Query(context.Background(), database.QueryRequest{Collection: playlist.PlaysCollection, Sort: []string{"started_at"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []play
	for _, it := range res.Items {
		var p play
		if err := it.Decode(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestAddAndList: !add queues a link and tells its title, length and
// place; !np tells what plays, who asked for it and the time left; !queue
// lists what comes; "next" is for leaders and up; !bump moves an item;
// CyTube's own refusals are told in its words.
func TestAddAndList(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), nil)

	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("✅ Queued “Alpha” (3:20); it plays now.")
	ch.Say("bob", "!add yt:"+bravo.ID)
	ch.Expect("✅ Queued “Bravo” (3:00) at #1.")
	ch.Say("carol", "!add "+link(charlie))
	ch.Expect("✅ Queued “Charlie” (4:00) at #2.")
	is.Equal(titles(ch), []string{"▶Alpha", "Bravo", "Charlie"})

	ch.Server.MediaUpdate(ch.Name, 80, true)
	ch.Say("bob", "!np")
	ch.Expect("▶️ Now playing: “Alpha”, queued by alice — 2:00 left of 3:20.")
	ch.Say("bob", "!queue")
	ch.Expect("📜 Up next (2, 7:00): 1. “Bravo” (3:00, bob) · 2. “Charlie” (4:00, carol)")
	ch.Say("carol", "!queue 1")
	ch.Expect("📜 Up next (2, 7:00): 1. “Bravo” (3:00, bob) · … 1 more")

	clock.Advance(3 * time.Second) // bob's !add cooldown
	ch.Say("bob", "!add "+link(echo)+" next")
	ch.Expect("⛔ Only leaders (rank 1.5) and up may add items to play next here.")
	ch.Say("mod", "!add "+link(echo)+" next")
	ch.Expect("✅ Queued “Echo” (5:00) at #1.")
	is.Equal(titles(ch), []string{"▶Alpha", "Echo", "Bravo", "Charlie"})
	ch.Say("mod", "!bump 3")
	ch.Expect("⏫ “Charlie” plays next.")
	is.Equal(titles(ch), []string{"▶Alpha", "Charlie", "Echo", "Bravo"})
	ch.Say("mod", "!bump 9")
	ch.Expect("❌ There is no #9 in the queue (it has 3).")

	clock.Advance(3 * time.Second)
	for _, c := range []struct{ user, line, want string }{
		{"alice", "!add", "❌ Usage: !add <link> [next]"},
		{"bob", "!add javascript:alert(1)", "❌ I cannot queue that link: "},
		{"carol", "!add https://youtu.be/short", "❌ I cannot queue that link: "},
		{"admin", "!add " + link(alpha), "❌ CyTube says: This item is already on the playlist"},
		{"mod", "!add yt:unknown0099", "❌ CyTube says: The YouTube API now requires an API key."},
		{"alice", "!queue lots", "❌ Usage: !queue [n]"},
		{"bob", "!add https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI", "⛔ I queue single videos, not YouTube playlists"},
	} {
		ch.Say(c.user, c.line)
		ch.Expect(c.want)
	}
	is.Equal(len(titles(ch)), 4)
}

// TestLimitsAndBlacklist: a channel's limits (by rank) and blacklist (by
// id and by title) refuse what they should, and an item whose length or
// title is known only once CyTube queued it is taken off again; ranks
// above the limits and the blacklist's exempt rank pass.
func TestLimitsAndBlacklist(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), map[string]any{
		"limits":    map[string]any{"0": map[string]any{"max_items": 1}},
		"blacklist": map[string]any{"ids": []string{link(echo)}},
		"channels": map[string]any{"lounge": map[string]any{
			"limits":    map[string]any{"0": map[string]any{"max_items": 2, "max_total": "8m", "max_length": "20m"}, "2": map[string]any{}},
			"blacklist": map[string]any{"titles": []string{`never\s+gonna`}},
		}},
	})
	say := func(user, line, want string) {
		t.Helper()
		ch.Say(user, line)
		ch.Expect(want)
		clock.Advance(3 * time.Second) // the !add cooldown
	}
	say("bob", "!add "+link(delta), "⛔ “Delta” lasts 25:00; the longest item you may add here is 20:00.")
	say("bob", "!add "+link(echo), "⛔ That media is on this channel's blacklist.")
	say("bob", "!add "+link(rick), "⛔ “Never Gonna Give You Up” is on this channel's blacklist.")
	ch.Eventually("take the refused items off", func() bool { return len(titles(ch)) == 0 })

	say("bob", "!add "+link(alpha), "✅ Queued “Alpha”")
	say("bob", "!add "+link(bravo), "✅ Queued “Bravo”")
	say("bob", "!add "+link(charlie), "⛔ You have 2 items in the playlist, the most you may have here.")
	say("carol", "!add "+link(charlie), "✅ Queued “Charlie”")
	say("carol", "!add "+link(foxtrot), "⛔ With “Foxtrot” (5:00) your items would last 9:00; you may have 8:00 in the playlist here.")
	ch.Eventually("take Foxtrot off", func() bool { return len(titles(ch)) == 3 })

	// Known from the first try: refused before it reaches CyTube.
	frames := len(ch.Server.Frames())
	say("carol", "!add "+link(delta), "⛔ “Delta” lasts 25:00")
	for _, f := range ch.Server.Frames()[frames:] {
		is.True(!strings.Contains(string(f.Data), delta.ID)) // never sent
	}
	is.Equal(len(plays(t, ch)), 1) // Alpha's: the refused items never counted as played

	say("mod", "!add "+link(delta), "✅ Queued “Delta” (25:00)")         // no limits from rank 2
	say("mod", "!add "+link(rick), "⛔ “Never Gonna Give You Up” is on") // the blacklist is for moderators too
	say("admin", "!add "+link(rick), "✅ Queued “Never Gonna Give You Up”")
	say("admin", "!add "+link(echo), "✅ Queued “Echo”") // exempt from rank 3
	is.Equal(titles(ch), []string{"▶Alpha", "Bravo", "Charlie", "Delta", "Never Gonna Give You Up", "Echo"})
}

// TestRemoveSkipShuffleRanks: users remove their own items, moderators
// anyone's; !skip, !shuffle and !bump are for moderators.
func TestRemoveSkipShuffleRanks(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), map[string]any{"limits": map[string]any{}})
	for _, m := range []cytubetest.Media{alpha, bravo, charlie} {
		ch.Say("alice", "!add "+link(m))
		ch.Expect("✅ Queued")
		clock.Advance(3 * time.Second)
	}
	ch.Say("bob", "!add "+link(echo))
	ch.Expect("✅ Queued “Echo”")

	ch.Say("bob", "!remove 1")
	ch.Expect("⛔ #1 “Bravo” was queued by alice: only moderators (rank 2) and up may remove others' items here.")
	ch.Say("bob", "!skip")
	ch.Expect("⛔ Only moderators (rank 2) and up may skip here.")
	ch.Say("bob", "!shuffle")
	ch.Expect("⛔ Only moderators (rank 2) and up may shuffle the playlist here.")
	ch.Say("bob", "!bump 2")
	ch.Expect("⛔ Only moderators (rank 2) and up may bump items here.")
	is.Equal(titles(ch), []string{"▶Alpha", "Bravo", "Charlie", "Echo"})

	ch.Say("alice", "!remove")
	ch.Expect("🗑️ Removed “Charlie”.") // her last one in the queue
	ch.Say("carol", "!remove mine")
	ch.Expect("🤷 You have nothing queued after what plays.")
	ch.Say("mod", "!remove 2")
	ch.Expect("🗑️ Removed “Echo”.")
	is.Equal(titles(ch), []string{"▶Alpha", "Bravo"})
	ch.Say("alice", "!add "+link(charlie))
	ch.Expect("✅ Queued")
	ch.Say("alice", "!remove mine")
	ch.Expect("🗑️ Removed your 2 items.")
	is.Equal(titles(ch), []string{"▶Alpha"}) // what plays stays: that is !skip

	clock.Advance(3 * time.Second)
	ch.Say("bob", "!add "+link(bravo))
	ch.Expect("✅ Queued")
	ch.Say("mod", "!skip")
	ch.Expect("⏭️ Skipped “Alpha”.")
	is.Equal(titles(ch), []string{"Alpha", "▶Bravo"})
	ch.Say("mod", "!shuffle")
	ch.Expect("🔀 Shuffled the playlist.")
	ch.Say("mod", "!remove x")
	ch.Expect("❌ Usage: !remove [n|mine]")
}

// TestCyTubeRefusals: in a registered channel where the bot is a plain
// user, the connector refuses on CyTube's permissions and the user hears
// why.
func TestCyTubeRefusals(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	srv := newServer(t)
	ch := start(t, srv, clock, t.TempDir(), nil,
		channeltest.WithChannel(cytubetest.ChannelConfig{Registered: true}), channeltest.WithBotRank(1))
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("⛔ I may not add to the playlist here: ")
	srv.Queue(ch.Name, "owner", alpha, false)
	srv.Queue(ch.Name, "owner", bravo, false)
	ch.Say("mod", "!skip")
	ch.Expect("⛔ I may not skip here: ")
	ch.Say("mod", "!remove 1")
	ch.Expect("⛔ I may not remove playlist items here: ")
	ch.Say("mod", "!shuffle")
	ch.Expect("⛔ I may not shuffle the playlist here: ")
	is.Equal(titles(ch), []string{"▶Alpha", "Bravo"})
	ch.Say("bob", "!np")
	ch.Expect("▶️ Now playing: “Alpha”, queued by owner")
}

// TestHistory: every item that plays is recorded with who queued it, how
// long it played and whether it was skipped; !history and !lastplayed
// tell it.
func TestHistory(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), nil)
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("it plays now")
	ch.Say("bob", "!add "+link(bravo))
	ch.Expect("✅ Queued “Bravo”")
	ch.Say("carol", "!add "+link(charlie))
	ch.Expect("✅ Queued “Charlie”")
	ch.Eventually("record Alpha's play", func() bool { return len(plays(t, ch)) == 1 })

	clock.Advance(200 * time.Second) // Alpha plays to its end
	ch.Server.EndMedia(ch.Name)
	ch.Eventually("record Bravo's play", func() bool { return len(plays(t, ch)) == 2 })
	clock.Advance(30 * time.Second)
	ch.Say("mod", "!skip")
	ch.Expect("⏭️ Skipped “Bravo”.")
	ch.Eventually("record Charlie's play", func() bool { return len(plays(t, ch)) == 3 })
	clock.Advance(30 * time.Second)
	ch.Server.MediaUpdate(ch.Name, 30, false)
	clock.Advance(30 * time.Second)
	ch.Server.MediaUpdate(ch.Name, 60, true) // paused at 1:00, and it stays so
	got := plays(t, ch)
	is.Equal(got[0], play{Title: "Alpha", QueuedBy: "alice", Played: 200, Status: "played"})
	is.Equal(got[1], play{Title: "Bravo", QueuedBy: "bob", Played: 30, Skipped: true, SkippedBy: "mod", Status: "played"})
	is.Equal(got[2].Status, "playing")

	ch.Say("alice", "!history")
	ch.Expect("🕘 Last played: “Bravo” (bob, 1m ago, skipped after 0:30) · “Alpha” (alice, 1m 30s ago)")
	ch.Say("bob", "!lastplayed alp")
	ch.Expect("🕘 “Alpha” last played 4m 50s ago (queued by alice) · 1 play, 0 👍 0 👎.")
	ch.Say("bob", "!lastplayed charlie")
	ch.Expect("▶️ “Charlie” plays now (queued by carol)")
	ch.Say("bob", "!lastplayed zulu")
	ch.Expect("🤷 Nothing played here has “zulu” in its title.")

	// Charlie ends after a minute paused: the pause is not time played,
	// and it was cut short.
	clock.Advance(60 * time.Second)
	ch.Server.EndMedia(ch.Name)
	ch.Eventually("record Charlie's end", func() bool { got = plays(t, ch); return len(got) == 4 && got[2].Status == "played" })
	is.Equal(got[2], play{Title: "Charlie", QueuedBy: "carol", Played: 60, Skipped: true, Status: "played"})
}

// TestLikesSurviveRestart: !like and !dislike count once per user and
// media, !liked lists the most liked; after a restart the likes, the
// history and the play in progress are all still there (the play is not
// counted twice).
func TestLikesSurviveRestart(t *testing.T) {
	is := is.New(t)
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	first := start(t, srv, clock, dir, nil)
	first.Say("alice", "!like")
	first.Expect("🤷 Nothing is playing.")
	srv.Queue(first.Name, "owner", alpha, false)
	srv.Queue(first.Name, "owner", bravo, false)
	first.Eventually("record Alpha's play", func() bool { return len(plays(t, first)) == 1 })
	clock.Advance(2 * time.Second)
	first.Say("alice", "!add "+link(charlie))
	first.Expect("✅ Queued “Charlie” (4:00) at #2.")
	first.Say("alice", "!like")
	first.Expect("👍 alice likes “Alpha” (1 👍 0 👎).")
	first.Say("bob", "!dislike")
	first.Expect("👎 bob dislikes “Alpha” (1 👍 1 👎).")
	clock.Advance(2 * time.Second)
	first.Say("alice", "!like")
	first.Expect("👍 You like “Alpha” already.")
	first.Say("bob", "!like")
	first.Expect("👍 bob likes “Alpha” (2 👍 0 👎).")
	srv.EndMedia(first.Name)
	first.Eventually("record Bravo's play", func() bool { return len(plays(t, first)) == 2 })
	clock.Advance(2 * time.Second)
	first.Say("carol", "!dislike")
	first.Expect("👎 carol dislikes “Bravo” (0 👍 1 👎).")
	first.Say("carol", "!liked")
	first.Expect("❤️ Most liked here: 1. “Alpha” (2 👍 0 👎)")
	first.Stop()

	clock.Advance(time.Minute)
	second := start(t, srv, clock, dir, nil)
	second.Say("alice", "!liked")
	second.Expect("❤️ Most liked here: 1. “Alpha” (2 👍 0 👎)")
	second.Say("bob", "!history")
	second.Expect("🕘 Last played: “Alpha” (owner, ")
	second.Say("carol", "!np")
	second.Expect("▶️ Now playing: “Bravo”, queued by owner")
	second.Say("carol", "!queue")
	second.Expect("📜 Up next (2, 7:20): 1. “Charlie” (4:00, alice) · 2. “Alpha” (3:20, owner)") // who asked is remembered
	clock.Advance(2 * time.Minute)
	srv.EndMedia(second.Name)
	second.Eventually("record Bravo's end and Charlie's play", func() bool { return len(plays(t, second)) == 3 })
	got := plays(t, second)
	is.Equal(got[1].Title, "Bravo") // one record across the restart
	is.Equal(got[1].Status, "played")
	is.Equal(got[1].Played, 180.0) // 1m before, 1m away, 2m after: at most its length
	is.Equal(got[2].Title, "Charlie")
	is.Equal(got[2].QueuedBy, "alice")
	second.Say("alice", "!lastplayed alpha")
	second.Expect("🕘 “Alpha” last played 3m 6s ago (queued by owner) · 1 play, 2 👍 0 👎.")
}

// history plays the media in ch one after another (as temporary items
// a user queued in CyTube's page) so the plugin records them.
func history(t *testing.T, ch *channeltest.Channel, ms ...cytubetest.Media) {
	t.Helper()
	before := len(plays(t, ch))
	for _, m := range ms {
		ch.Server.Queue(ch.Name, "dj", m, true)
	}
	for i := range ms {
		ch.Eventually("record a play", func() bool { return len(plays(t, ch)) == before+i+1 })
		ch.Server.EndMedia(ch.Name)
	}
	ch.Eventually("empty the playlist", func() bool { return len(titles(ch)) == 0 })
	ch.Eventually("record the last play's end", func() bool {
		got := plays(t, ch)
		return got[len(got)-1].Status == "played"
	})
}

// TestRandom: !random queues from the history what is not disliked, not
// played lately and not on the playlist.
func TestRandom(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), map[string]any{"random_recent": "1h"})
	ch.Server.Queue(ch.Name, "dj", bravo, true)
	ch.Eventually("record Bravo's play", func() bool { return len(plays(t, ch)) == 1 })
	ch.Say("bob", "!dislike")
	ch.Expect("👎 bob dislikes “Bravo”")
	ch.Server.EndMedia(ch.Name)
	ch.Eventually("record the end of Bravo's play", func() bool { return plays(t, ch)[0].Status == "played" })
	history(t, ch, alpha, charlie, foxtrot)

	ch.Say("alice", "!random")
	ch.Expect("🤷 Nothing in the history fits (not played in the last 1h")
	clock.Advance(2 * time.Hour)
	ch.Server.Queue(ch.Name, "dj", foxtrot, false) // on the playlist: not picked
	ch.Say("bob", "!random")
	ch.Expect("⛔ Only registered users (rank 1) and up may queue from the history here.")
	ch.Say("alice", "!random 5")
	got := ch.Expect("🎲 Queued from the history: ")
	is.True(strings.Contains(got, "“Alpha” (3:20 at #"))
	is.True(strings.Contains(got, "“Charlie” (4:00 at #"))
	is.True(!strings.Contains(got, "Bravo"))
	is.Equal(len(titles(ch)), 3)
	ch.Say("alice", "!queue")
	ch.Expect("(3:20, alice)") // the items count as alice's
}

// TestAutofill: with nobody queueing for the idle time, auto-fill tops the
// playlist up from the history; a person's item goes before its filler;
// it waits again as soon as someone queues.
func TestAutofill(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), map[string]any{"random_recent": "1h",
		"autofill": map[string]any{"min": 2, "idle": "5m", "every": "30s"}})
	history(t, ch, alpha, charlie, foxtrot, delta)
	is.Equal(ch.Count("🎲"), 0)

	tick := func(d time.Duration) {
		t.Helper()
		n := clock.Timers()
		clock.Advance(d)
		if !clock.WaitTimers(n) { // the schedule is set again once the check is done
			t.Fatal("the auto-fill check never finished")
		}
	}
	tick(2 * time.Hour)
	ch.Expect("🎲 Nobody has queued for 5m, so I added ")
	items, _ := ch.Server.Playlist(ch.Name)
	is.Equal(len(items), 3) // one plays, two follow
	for _, it := range items {
		is.True(it.Temp)
	}

	ch.Say("bob", "!add "+link(echo)) // a person queues: before the filler
	ch.Expect("✅ Queued “Echo” (5:00) at #1.")
	is.Equal(titles(ch)[1], "Echo")
	for range 3 {
		ch.Server.EndMedia(ch.Name)
	}
	// Echo played and stays (not temporary), the last filler plays.
	ch.Eventually("play the last filler", func() bool { l := titles(ch); return len(l) == 2 && l[0] == "Echo" })
	ch.Eventually("the connector see it", func() bool {
		snap, err := client.New(ch.Bot.Bus(), ch.Name).Playlist(ch.Context())
		return err == nil && len(snap.Items) == 2
	})
	tick(30 * time.Second)
	tick(30 * time.Second)
	is.Equal(ch.Count("🎲"), 1) // it waits

	tick(5 * time.Minute)
	ch.Expect("🎲 Nobody has queued for 5m, so I added ")
	is.Equal(len(titles(ch)), 3)
	is.Equal(ch.Count("🎲"), 2)

	// Queued in CyTube's page: moved before the filler too.
	ch.Server.Queue(ch.Name, "dj", bravo, false)
	ch.Eventually("move Bravo before the filler", func() bool { l := titles(ch); return len(l) == 4 && l[2] == "Bravo" })
}

// TestHelpListsPlaylist: !help lists the commands, !liked among them.
func TestHelpListsPlaylist(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), playlist.New(playlist.Config{})))
	h.Say("alice", "!help add")
	h.Expect("📖 !add <link> [next] — Queues a media link (next: after what plays) · rank: anyone · cooldown: 2s · plugin: playlist")
	h.Say("alice", "!help liked")
	h.Expect("📖 !liked [n] — Lists the channel's most liked media")
}

// TestWithoutCyTube: with no connector (the console) the commands say so.
func TestWithoutCyTube(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(playlist.New(playlist.Config{}), seen.New(seen.Config{})))
	h.Say("alice", "!np")
	h.Expect("⚠️ No CyTube channel answers here")
	h.Say("alice", "!add https://youtu.be/dQw4w9WgXcQ")
	h.Expect("⚠️ No CyTube channel answers here")
	h.Say("alice", "!history")
	h.Expect("🤷 Nothing has finished playing here yet.")
}

// TestBadConfig: a config the plugin cannot use stops it from starting,
// with the field named.
func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		section map[string]any
		want    string
	}{
		{map[string]any{"ranks": map[string]any{"dance": 1}}, `ranks: no action "dance" (add, next, remove_any, skip, shuffle, bump, random, like, blacklist)`},
		{map[string]any{"ranks": map[string]any{"skip": 9}}, "ranks.skip: 9 is not a CyTube rank"},
		{map[string]any{"limits": map[string]any{"mod": map[string]any{}}}, `limits: "mod" is not a CyTube rank`},
		{map[string]any{"limits": map[string]any{"0": map[string]any{"max_items": -1}}}, "limits.0: a limit is negative"},
		{map[string]any{"blacklist": map[string]any{"ids": []string{"javascript:x"}}}, "blacklist.ids: "},
		{map[string]any{"blacklist": map[string]any{"titles": []string{"(unclosed"}}}, "blacklist.titles: "},
		{map[string]any{"random_max": 50}, "random_max: 50 is not between 1 and 10"},
		{map[string]any{"autofill": map[string]any{"min": 99}}, "autofill.min: 99 is not between 0 and 50"},
		{map[string]any{"autofill": map[string]any{"every": "10ms"}}, "autofill.every: 10ms is under 1s"},
		{map[string]any{"channels": map[string]any{"x": map[string]any{"ranks": map[string]any{"add": -3}}}}, "ranks.add: -3 is not a CyTube rank (0 to 5) (in channels.x)"},
	} {
		h := roseytest.New(t, roseytest.WithPlugins(playlist.New(playlist.Config{})), roseytest.WithPluginConfig(playlist.Name, c.section),
			roseytest.WithLogLevel(slog.LevelError+1))
		var st supervisor.Status
		for _, s := range h.Bot().Plugins().Status() {
			if s.Info.Name == playlist.Name {
				st = s
			}
		}
		if st.State != plugin.StateFailed {
			t.Errorf("config %v: the plugin started", c.section)
		}
		if !strings.Contains(st.LastError, c.want) {
			t.Errorf("config %v: error %q, want %q", c.section, st.LastError, c.want)
		}
	}
}

// TestSeveralChannels: a bot in two channels queues, limits, records and
// answers in the channel each command came from, with each channel's own
// config.
func TestSeveralChannels(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	lounge := start(t, newServer(t), clock, t.TempDir(), map[string]any{
		"channels": map[string]any{"cinema": map[string]any{"limits": map[string]any{"0": map[string]any{"max_items": 1}}}},
	}, channeltest.WithChannels("cinema"))
	cinema := lounge.In("cinema")
	cinema.Join("alice", 1)
	cinema.Join("bob", 0)

	cinema.Say("alice", "!add "+link(alpha))
	cinema.Expect("✅ Queued “Alpha” (3:20); it plays now.")
	clock.Advance(3 * time.Second)
	cinema.Say("alice", "!add "+link(bravo))
	cinema.Expect("⛔ You have 1 item in the playlist, the most you may have here.")
	lounge.Say("alice", "!add "+link(bravo)) // the lounge's limits are the plugin's
	lounge.Expect("✅ Queued “Bravo” (3:00); it plays now.")
	lounge.Say("bob", "!add "+link(alpha)) // Alpha is on the cinema's playlist, not the lounge's
	lounge.Expect("✅ Queued “Alpha” (3:20) at #1.")
	is.Equal(titles(cinema), []string{"▶Alpha"})
	is.Equal(titles(lounge), []string{"▶Bravo", "Alpha"})

	cinema.Say("bob", "!like")
	cinema.Expect("👍 bob likes “Alpha” (1 👍 0 👎).")
	lounge.Say("carol", "!liked")
	lounge.Expect("🤷 Nothing has been liked here yet")
	cinema.Say("alice", "!np")
	cinema.Expect("▶️ Now playing: “Alpha”, queued by alice")
	cinema.Server.Queue("cinema", "dj", bravo, false)
	cinema.Server.EndMedia("cinema")
	cinema.Eventually("record the cinema's play", func() bool {
		for _, p := range plays(t, cinema) {
			if p.Title == "Alpha" && p.Status == "played" {
				return true
			}
		}
		return false
	})
	lounge.Say("carol", "!history")
	lounge.Expect("🤷 Nothing has finished playing here yet.")
	cinema.Say("bob", "!history")
	cinema.Expect("🕘 Last played: “Alpha” (alice, ")
	is.Equal(lounge.Count("Last played"), 0)
}

// TestMalformedEvents: events a plugin cannot trust (wrong types, missing
// fields, no JSON at all) are passed over; the plugin goes on.
func TestMalformedEvents(t *testing.T) {
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), nil)
	bus := ch.Bot.Bus()
	for subject, body := range map[string]string{
		"cytube.media.change":      `{"title": 7, "type": ["yt"]}`,
		"cytube.media.current":     `not json`,
		"cytube.media.position":    `{"uid": "x", "time": "soon"}`,
		"cytube.playlist.deleted":  `{"uid": {}}`,
		"cytube.playlist.queued":   `[]`,
		"cytube.playlist.snapshot": `{"items": 5}`,
	} {
		if err := bus.Conn().Publish(subject, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("✅ Queued “Alpha” (3:20); it plays now.")
	ch.Eventually("record the play", func() bool { return len(plays(t, ch)) == 1 })
	if got := plays(t, ch); got[0].Title != "Alpha" || got[0].QueuedBy != "alice" {
		t.Fatalf("plays: %+v", got)
	}
}

// TestBlacklistCommand: moderators blacklist what plays (it is skipped)
// or a link, and take it off again; the blacklist holds across a restart
// and keeps the config's entries.
func TestBlacklistCommand(t *testing.T) {
	is := is.New(t)
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	section := map[string]any{"blacklist": map[string]any{"ids": []string{link(echo)}}}
	first := start(t, srv, clock, dir, section)
	first.Say("alice", "!add "+link(alpha))
	first.Expect("it plays now")
	first.Say("bob", "!add "+link(bravo))
	first.Expect("✅ Queued “Bravo”")
	first.Eventually("record Alpha's play", func() bool { return len(plays(t, first)) == 1 })

	first.Say("bob", "!blacklist")
	first.Expect("⛔ Only moderators (rank 2) and up may blacklist media here.")
	first.Say("mod", "!blacklist")
	first.Expect("🚫 “Alpha” is on this channel's blacklist now. Skipped it.")
	is.Equal(titles(first), []string{"Alpha", "▶Bravo"})
	first.Say("mod", "!blacklist yt:"+charlie.ID)
	first.Expect("🚫 “yt:charlie0003” is on this channel's blacklist now.")
	first.Say("mod", "!blacklist "+link(echo))
	first.Expect("🚫 “yt:echo0000006” is on this channel's blacklist already.")
	first.Eventually("record Alpha as skipped", func() bool { p := plays(t, first); return len(p) == 2 && p[0].SkippedBy == "mod" })
	first.Stop()

	second := start(t, srv, clock, dir, section)
	second.Say("carol", "!add "+link(charlie))
	second.Expect("⛔ That media is on this channel's blacklist.")
	second.Say("alice", "!add "+link(charlie))
	second.Expect("⛔ That media is on this channel's blacklist.")
	second.Say("admin", "!add "+link(charlie)) // exempt rank
	second.Expect("✅ Queued “Charlie”")
	second.Say("mod", "!unblacklist "+link(echo))
	second.Expect("⛔ “yt:echo0000006” is blacklisted in the bot's config: only its operator can take it off.")
	second.Say("mod", "!unblacklist "+link(alpha))
	second.Expect("✅ “Alpha” is off this channel's blacklist.")
	second.Say("mod", "!unblacklist "+link(alpha))
	second.Expect("🤷 “Alpha” is not on this channel's blacklist.")
	clock.Advance(3 * time.Second)
	second.Say("carol", "!add "+link(delta))
	second.Expect("⛔ “Delta” lasts 25:00") // refused by length, not by the blacklist
	clock.Advance(3 * time.Second)
	second.Say("carol", "!add "+link(foxtrot))
	second.Expect("✅ Queued “Foxtrot”")
	second.Say("mod", "!unblacklist")
	second.Expect("❌ Usage: !unblacklist <link>")
}

// TestClearEndsThePlay: a moderator clearing the playlist in CyTube's page
// ends the play of what played then (cut short), rather than leaving it
// playing until the next item, long after, closes it as played whole.
func TestClearEndsThePlay(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), nil)
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("it plays now")
	ch.Say("bob", "!add "+link(bravo))
	ch.Expect("✅ Queued “Bravo”")
	ch.Eventually("record Alpha's play", func() bool { return len(plays(t, ch)) == 1 })
	clock.Advance(30 * time.Second)

	page := viewer(t, ch, "pagemod")
	ch.Server.SetRank(ch.Name, "pagemod", 2)
	is.NoErr(page.Emit("clearPlaylist", nil))
	ch.Eventually("see the playlist cleared", func() bool { return len(titles(ch)) == 0 })
	ch.Eventually("record Alpha's play ended", func() bool { got := plays(t, ch); return len(got) == 1 && got[0].Status == "played" })
	is.Equal(plays(t, ch)[0], play{Title: "Alpha", QueuedBy: "alice", Played: 30, Skipped: true, Status: "played"})
	ch.Say("carol", "!lastplayed alpha")
	ch.Expect("🕘 “Alpha” last played 30s ago") // not "plays now"

	clock.Advance(10 * time.Minute)
	ch.Say("carol", "!add "+link(charlie))
	ch.Expect("it plays now")
	ch.Eventually("record Charlie's play", func() bool { return len(plays(t, ch)) == 2 })
	is.Equal(plays(t, ch)[0].Played, 30.0) // Alpha's play is as the clear left it
}

// alphaAlone starts the plugin in a channel whose playlist holds only
// alice's Alpha, playing and recorded, and returns the item's uid.
func alphaAlone(t *testing.T, clock *roseytest.Clock) (*channeltest.Channel, int) {
	t.Helper()
	ch := start(t, newServer(t), clock, t.TempDir(), nil)
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("it plays now")
	ch.Eventually("record Alpha's play", func() bool { return len(plays(t, ch)) == 1 })
	_, uid := ch.Server.Playlist(ch.Name)
	return ch, uid
}

// viewer opens CyTube's page in ch as name, for what a person does there.
func viewer(t *testing.T, ch *channeltest.Channel, name string) *cytubetest.Client {
	t.Helper()
	page, err := ch.Server.Dial(ch.Context(), ch.Name, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = page.Close() })
	return page
}

// TestOnlyItemPlaysAgain: CyTube plays the only item of a playlist again
// when it ends (the same uid, the same media): each round is a play of its
// own, not one play going on for ever.
func TestOnlyItemPlaysAgain(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch, uid := alphaAlone(t, clock)

	clock.Advance(202 * time.Second) // its end, and CyTube's 2 s after it
	ch.Server.EndMedia(ch.Name)      // CyTube plays it again: setCurrent, changeMedia of the same uid
	_, playing := ch.Server.Playlist(ch.Name)
	is.Equal(playing, uid)
	ch.Eventually("record Alpha's second play", func() bool { return len(plays(t, ch)) == 2 })
	got := plays(t, ch)
	is.Equal(got[0], play{Title: "Alpha", QueuedBy: "alice", Played: 200, Status: "played"})
	is.Equal(got[1].Status, "playing")
	is.Equal(got[1].QueuedBy, "alice")
}

// TestLateSnapshotKeepsThePlay: the playlist events and the media events
// come by separate subscriptions, so a playlist snapshot older than the
// media change that started a play (the empty playlist of the bot's join,
// handled after the first item queued began to play) may be handled after
// it: it does not end that play, which goes on to be recorded whole.
func TestLateSnapshotKeepsThePlay(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch, uid := alphaAlone(t, clock)
	bus := ch.Bot.Bus()
	asked, err := bus.Conn().SubscribeSync(bus.Subject(protocol.StateBot))
	is.NoErr(err)
	defer func() { _ = asked.Unsubscribe() }()
	is.NoErr(bus.Flush(ch.Context()))

	// The join's snapshot, handled late; then a playlist event of a
	// channel the plugin never saw, which makes it ask the bot's name
	// there: once it asks, the snapshot before it was handled.
	is.NoErr(bus.Publish(ch.Context(), protocol.PlaylistSnapshot, protocol.PlaylistSnapshotEvent{Channel: ch.Name, Items: []protocol.MediaItem{}}))
	is.NoErr(bus.Publish(ch.Context(), protocol.PlaylistQueued, protocol.PlaylistQueuedEvent{Channel: "elsewhere",
		Item: protocol.MediaItem{UID: 1, Title: "Bravo", Type: bravo.Type, ID: bravo.ID, Duration: bravo.Seconds, QueuedBy: "bob"}}))
	for {
		m, err := asked.NextMsg(roseytest.DefaultTimeout)
		is.NoErr(err) // the barrier: the plugin asks the bot's name in "elsewhere"
		var req protocol.ChannelRequest
		if json.Unmarshal(m.Data, &req) == nil && req.Channel == "elsewhere" {
			break
		}
	}
	got := plays(t, ch)
	is.Equal(len(got), 1)
	is.Equal(got[0].Status, "playing") // not ended by the old snapshot

	clock.Advance(202 * time.Second)
	ch.Server.EndMedia(ch.Name)
	_, playing := ch.Server.Playlist(ch.Name)
	is.Equal(playing, uid)
	ch.Eventually("record Alpha's second play", func() bool { return len(plays(t, ch)) == 2 })
	is.Equal(plays(t, ch)[0], play{Title: "Alpha", QueuedBy: "alice", Played: 200, Status: "played"})
}

// TestSkipTheOnlyItem: !skip of the only item of a playlist makes CyTube
// play it again from the start (the same uid): the play skipped ends,
// skipped by the moderator, and the new round is a play of its own.
func TestSkipTheOnlyItem(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch, uid := alphaAlone(t, clock)
	clock.Advance(40 * time.Second)

	// CyTube answers a playNext with one item with setCurrent and
	// changeMedia of that item again.
	ch.Say("mod", "!skip")
	ch.Expect("⏭️ Skipped “Alpha”.")
	_, playing := ch.Server.Playlist(ch.Name)
	is.Equal(playing, uid)
	ch.Eventually("record Alpha's second play", func() bool { return len(plays(t, ch)) == 2 })
	got := plays(t, ch)
	is.Equal(got[0], play{Title: "Alpha", QueuedBy: "alice", Played: 40, Skipped: true, SkippedBy: "mod", Status: "played"})
	is.Equal(got[1].Status, "playing")
}

// TestRefusedItemForgottenAfterRestart: an item !add took off again (out of
// the limits) is not held against another item that gets its uid once
// CyTube, restarted, numbers its playlist from 0 again: that one's play is
// recorded.
func TestRefusedItemForgottenAfterRestart(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	srv := newServer(t)
	ch := start(t, srv, clock, t.TempDir(), map[string]any{"limits": map[string]any{"0": map[string]any{"max_length": "10m"}}})
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("it plays now") // uid 0
	clock.Advance(3 * time.Second)
	ch.Say("bob", "!add "+link(delta))
	ch.Expect("⛔ “Delta” lasts 25:00") // uid 1, taken off at once
	ch.Eventually("take Delta off", func() bool { return len(titles(ch)) == 1 })

	srv.Restart() // an unregistered channel starts empty, its uids from 0
	ch.Eventually("see the bot back", func() bool {
		for _, u := range srv.Users(ch.Name) {
			if u.Name == ch.BotName {
				return true
			}
		}
		return false
	})
	for _, u := range []string{"alice", "bob", "carol"} {
		ch.Join(u, 0)
	}
	clock.Advance(3 * time.Second)
	ch.Say("alice", "!add "+link(bravo))
	ch.Expect("✅ Queued “Bravo” (3:00); it plays now") // uid 0
	ch.Say("carol", "!add "+link(charlie))
	ch.Expect("✅ Queued “Charlie”") // uid 1
	ch.Eventually("record Bravo's play", func() bool { return len(plays(t, ch)) == 2 })
	clock.Advance(180 * time.Second)
	srv.EndMedia(ch.Name)
	ch.Eventually("record Charlie's play", func() bool { return len(plays(t, ch)) == 3 })
	is.Equal(plays(t, ch)[2].Title, "Charlie")
}

// TestRandomGoesBeforeFiller: items a person queues with !random are moved
// before auto-fill's waiting items, as those of !add and of CyTube's page.
func TestRandomGoesBeforeFiller(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), map[string]any{"random_recent": "1h", "limits": map[string]any{},
		"autofill": map[string]any{"min": 2, "idle": "5m", "every": "30s"}})
	history(t, ch, alpha, charlie, foxtrot, delta, echo)
	n := clock.Timers()
	clock.Advance(2 * time.Hour)
	is.True(clock.WaitTimers(n))
	ch.Expect("🎲 Nobody has queued for 5m, so I added ")
	is.Equal(len(titles(ch)), 3) // one plays, two fillers follow

	ch.Say("alice", "!random")
	got := ch.Expect("🎲 Queued from the history: ")
	is.True(strings.HasSuffix(got, " at #1)")) // next, before the filler
	l := titles(ch)
	is.Equal(len(l), 4)
	is.True(strings.Contains(got, "“"+l[1]+"”"))
}

// TestShuffleGoesOnWithThePlay: CyTube's shuffle gives every item a new
// uid and plays the item that was playing again, first, resumed where it
// was (changeMedia past its start): that is the same play going on, not a
// second play of it (nor the first one ended as skipped).
func TestShuffleGoesOnWithThePlay(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := start(t, newServer(t), clock, t.TempDir(), nil)
	ch.Say("alice", "!add "+link(alpha))
	ch.Expect("it plays now")
	for _, m := range []cytubetest.Media{bravo, charlie} {
		clock.Advance(3 * time.Second) // bob's command cooldown
		ch.Say("bob", "!add "+link(m))
		ch.Expect("✅ Queued")
	}
	ch.Eventually("record Alpha's play", func() bool { return len(plays(t, ch)) == 1 })
	_, before := ch.Server.Playlist(ch.Name)

	// Near its end, so that it ends played whole without the clock
	// moving after the shuffle (the position the shuffle resumes it at
	// may reach the plugin after the barrier below).
	clock.Advance(190 * time.Second)
	ch.Server.MediaUpdate(ch.Name, 190, false)
	ch.Say("mod", "!shuffle")
	ch.Expect("🔀 Shuffled the playlist.")
	items, playing := ch.Server.Playlist(ch.Name)
	is.True(playing != before) // CyTube's new uid
	is.Equal(items[0].Media.Title, "Alpha")
	// Once the plugin has heard of the new uid, one way or the other.
	ch.Eventually("record Alpha's new uid", func() bool { return slices.Contains(playUIDs(t, ch), int64(playing)) })
	got := plays(t, ch)
	is.Equal(len(got), 1) // one play of Alpha
	is.Equal(got[0].Status, "playing")

	ch.Server.EndMedia(ch.Name)
	ch.Eventually("record the next play", func() bool { return len(plays(t, ch)) == 2 })
	is.Equal(plays(t, ch)[0], play{Title: "Alpha", QueuedBy: "alice", Played: 190, Status: "played"})
}

// playUIDs lists the uids of the plays recorded.
func playUIDs(t *testing.T, ch *channeltest.Channel) []int64 {
	t.Helper()
	db := database.NewClient(ch.Bot.Bus()).Namespace(playlist.Name)
	res, err := db.Query(context.Background(), database.QueryRequest{Collection: playlist.PlaysCollection})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, it := range res.Items {
		var p struct {
			UID int64 `json:"uid"`
		}
		if err := it.Decode(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.UID)
	}
	return out
}
