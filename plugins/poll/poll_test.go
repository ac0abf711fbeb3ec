package poll_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/poll"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

func start(t *testing.T, opts ...channeltest.Option) *channeltest.Channel {
	t.Helper()
	opts = append([]channeltest.Option{channeltest.WithPlugins(poll.New(poll.Config{}))}, opts...)
	ch := channeltest.Start(t, opts...)
	ch.Join("mod", 2)
	ch.Join("mod2", 2)
	ch.Join("alice", 1)
	return ch
}

type stored struct {
	Title    string `json:"title"`
	Counts   []int  `json:"counts"`
	OpenedBy string `json:"opened_by"`
	ClosedBy string `json:"closed_by"`
	Status   string `json:"status"`
}

// polls reads what the plugin recorded, from its database namespace.
func polls(t *testing.T, ch *channeltest.Channel) []stored {
	t.Helper()
	db := database.NewClient(ch.Bot.Bus()).Namespace(poll.Name)
	res, err := db.Query(context.Background(), database.QueryRequest{Collection: poll.DefaultCollection, Sort: []string{"opened_at"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for _, it := range res.Items {
		var s stored
		if err := it.Decode(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestOpenVoteAndClose: a moderator opens a real CyTube poll, users vote
// in CyTube, anyone reads the counts, a second poll is refused while one
// is open, and closing announces and records the results.
func TestOpenVoteAndClose(t *testing.T) {
	is := is.New(t)
	ch := start(t)

	ch.Say("alice", "!poll Lunch? | pizza | soup")
	ch.Expect("⛔ Only leaders (rank 1.5) and up may open polls.")
	is.True(ch.Server.Poll(ch.Name) == nil)

	ch.Say("mod", "!poll Lunch? | pizza | soup")
	ch.Expect("📊 Poll open: “Lunch?” — pizza / soup. Vote in the poll box!")
	p := ch.Server.Poll(ch.Name)
	is.True(p != nil)
	is.Equal(p.Title, "Lunch?")
	is.Equal(p.Options, []string{"pizza", "soup"})
	is.Equal(p.Initiator, ch.BotName)

	ch.Server.Vote(ch.Name, "alice", 0)
	ch.Server.Vote(ch.Name, "bob", 0)
	ch.Server.Vote(ch.Name, "carol", 1)
	ch.Say("alice", "!poll results")
	ch.Expect("📊 “Lunch?” so far: pizza 2, soup 1 (3 votes): pizza wins")

	ch.Say("mod2", "!poll Dinner? | rice | pasta")
	ch.Expect("❌ A poll is already open: “Lunch?”. Close it first with !poll close.")
	is.Equal(ch.Server.Poll(ch.Name).Title, "Lunch?") // untouched

	ch.Say("bob", "!poll close")
	ch.Expect("⛔ Only leaders (rank 1.5) and up may close polls.")
	ch.Say("mod2", "!poll close")
	ch.Expect("📊 Poll closed: “Lunch?” — pizza 2, soup 1 (3 votes): pizza wins")
	is.True(ch.Server.Poll(ch.Name) == nil)

	ch.Join("mod3", 2) // mod's cooldown may still run
	ch.Say("mod3", "!poll close")
	ch.Expect("❌ There is no poll open.")
	ch.Say("carol", "!poll results")
	last := ch.Expect("📊 Last poll, “Lunch?” (closed ")
	is.True(strings.HasSuffix(last, "): pizza 2, soup 1 (3 votes): pizza wins"))

	got := polls(t, ch)
	is.Equal(len(got), 1)
	is.Equal(got[0], stored{Title: "Lunch?", Counts: []int{2, 1}, OpenedBy: "mod", ClosedBy: "mod2", Status: "closed"})
}

// TestTimedAndHiddenPoll: --time hands the timeout to CyTube, which closes
// the poll itself; a hidden poll's counts are not told until it closes.
func TestTimedAndHiddenPoll(t *testing.T) {
	ch := start(t)
	// The hidden poll's timer is long: !poll results must come before it
	// ends however loaded the machine.
	ch.Say("mod", "!poll Secret? | yes | no --hidden --time 10m")
	ch.Expect("📊 Poll open: “Secret?” — yes / no. Closes in 10m. Counts stay hidden until it closes.")
	ch.Server.Vote(ch.Name, "alice", 1)
	ch.Say("alice", "!poll results")
	ch.Expect("🙈 The counts of “Secret?” stay hidden until it closes.")
	ch.Say("mod2", "!poll close")
	ch.Expect("📊 Poll closed: “Secret?” — yes 0, no 1 (1 vote): no wins")

	ch.Join("mod3", 2) // mod's cooldown may still run
	ch.Say("mod3", "!poll Quick? | a | b --time 1s")
	// CyTube's timer may close it before the bot has said it open.
	ch.Eventually("say the poll open, then closed by CyTube's timer", func() bool {
		return ch.Count("📊 Poll open: “Quick?” — a / b. Closes in 1s.") == 1 && ch.Count("📊 Poll closed: “Quick?” — a 0, b 0 (no votes)") == 1
	})
}

// TestBadPolls: every malformed !poll gets a clear answer and opens
// nothing.
func TestBadPolls(t *testing.T) {
	is := is.New(t)
	ch := start(t, channeltest.WithPluginConfig(poll.Name, map[string]any{"max_options": 3, "max_time": "10m"}))
	for i, c := range []struct{ line, want string }{
		{"!poll", "❌ Usage: !poll <title> | <option> | <option>… [--time 2m] [--hidden] — or close, results"},
		{"!poll Lunch? | pizza", "❌ Usage: !poll"},
		{"!poll | a | b", "❌ The poll needs a title before the first |."},
		{"!poll T | a | | b", "❌ An option is empty: write options between | signs."},
		{"!poll T | a | A", "❌ Option “A” is listed twice."},
		{"!poll T | a | b | c | d", "❌ Too many options: at most 3."},
		{"!poll T | a | b --time soon", "❌ --time wants a duration such as 90s, 2m or 1h, not \"soon\"."},
		{"!poll T | a | b --time 1h", "❌ --time must be between 1s and 10m."},
		{"!poll T | a | b --secret", "❌ Unknown option --secret: use --time 2m or --hidden."},
	} {
		user := []string{"mod", "mod2"}[i%2] // the command's cooldown is per user
		ch.Join(user, 2)
		ch.Say(user, c.line)
		ch.Expect(c.want)
	}
	is.True(ch.Server.Poll(ch.Name) == nil)
}

// TestBadConfig: a config out of CyTube's bounds stops the plugin from
// starting, with the field named.
func TestBadConfig(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct {
		section map[string]any
		want    string
	}{
		{map[string]any{"max_options": 80}, "max_options: 80 is not between 2 and 50"},
		{map[string]any{"max_time": "48h"}, "max_time: 48h0m0s is not between 1s and 24h"},
		{map[string]any{"default_time": "2h"}, "default_time: 2h0m0s is not between 0 and max_time (1h0m0s)"},
		{map[string]any{"open_rank": 9}, "open_rank: 9 is not a CyTube rank"},
		{map[string]any{"max_time": 60}, "has no unit"},
		{map[string]any{"channels": map[string]any{"x": map[string]any{"max_options": 99}}}, "max_options: 99 is not between 2 and 50 (in channels.x)"},
	} {
		h := roseytest.New(t, roseytest.WithPlugins(poll.New(poll.Config{})), roseytest.WithPluginConfig(poll.Name, c.section),
			roseytest.WithLogLevel(slog.LevelError+1))
		var st supervisor.Status
		for _, s := range h.Bot().Plugins().Status() {
			if s.Info.Name == poll.Name {
				st = s
			}
		}
		is.Equal(st.State, plugin.StateFailed)
		is.True(strings.Contains(st.LastError, c.want)) // names the field
	}
}

// TestRefusals: the bot's rank below the channel's pollctl, and a poll
// someone opened in CyTube's page, are refused through the connector;
// that poll's results are announced and recorded all the same.
func TestRefusals(t *testing.T) {
	is := is.New(t)
	ch := start(t, channeltest.WithChannel(cytubetest.ChannelConfig{Registered: true}), channeltest.WithBotRank(1))
	ch.Say("mod", "!poll Lunch? | pizza | soup")
	ch.Expect("⛔ I may not open polls here: ")
	is.True(ch.Server.Poll(ch.Name) == nil)

	ch.Server.OpenPoll(ch.Name, "owner", "Movie?", []string{"Alien", "Heat"}, false)
	ch.Server.Vote(ch.Name, "alice", 1)
	ch.Say("mod2", "!poll Lunch? | pizza | soup")
	ch.Expect("❌ A poll is already open: “Movie?”.")
	ch.Say("mod", "!poll close")
	ch.Expect("⛔ I may not close polls here: ")
	is.True(ch.Server.Poll(ch.Name) != nil)

	ch.Server.Vote(ch.Name, "bob", 1)
	closeAsOwner(t, ch)
	ch.Expect("📊 Poll closed: “Movie?” — Alien 0, Heat 2 (2 votes): Heat wins")
	ch.Eventually("record the poll", func() bool {
		got := polls(t, ch)
		return len(got) == 1 && got[0].Status == "closed"
	})
	got := polls(t, ch)
	is.Equal(got[0].OpenedBy, "owner")
	is.Equal(got[0].Counts, []int{0, 2})
}

// closeAsOwner closes the open poll as an admin in CyTube's page would,
// on a websocket of their own.
func closeAsOwner(t *testing.T, ch *channeltest.Channel) {
	t.Helper()
	c, err := ch.Server.Dial(ch.Context(), ch.Name, "closer")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch.Server.SetRank(ch.Name, "closer", 3)
	if err := c.Emit("closePoll", nil); err != nil {
		t.Fatal(err)
	}
	ch.Eventually("see the poll closed", func() bool { return ch.Server.Poll(ch.Name) == nil })
}

// closeWhilePluginAway closes the open poll while the poll plugin is
// stopped and the connector stays in the channel. It returns once the
// connector has published the close: the plugin, started after, cannot
// hear it (the server's poll gone is not enough, the connector may not
// have read CyTube's closePoll yet) and finds the poll closed on coming
// back.
func closeWhilePluginAway(t *testing.T, ch *channeltest.Channel) {
	t.Helper()
	closed := make(chan struct{}, 1)
	sub, err := ch.Bot.Bus().Subscribe(protocol.PollClosed, func(context.Context, *eventbus.Event) {
		select {
		case closed <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := ch.Bot.Bus().Flush(ch.Context()); err != nil {
		t.Fatal(err)
	}
	closeAsOwner(t, ch)
	natstest.Receive(t, closed)
}

// TestRestartKeepsPolls: a poll opened before a restart is closed after
// it with its results and its opener intact, and !poll results remembers
// the last poll.
func TestRestartKeepsPolls(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	first := start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	first.Say("mod", "!poll Lunch? | pizza | soup")
	first.Expect("📊 Poll open: “Lunch?”")
	first.Server.Vote(first.Name, "alice", 1)
	first.Stop()

	second := start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	second.Server.Vote(second.Name, "bob", 1)
	second.Say("mod", "!poll close")
	second.Expect("📊 Poll closed: “Lunch?” — pizza 0, soup 2 (2 votes): soup wins")
	got := polls(t, second)
	is.Equal(len(got), 1) // the poll seen again on join is not recorded twice
	is.Equal(got[0], stored{Title: "Lunch?", Counts: []int{0, 2}, OpenedBy: "mod", ClosedBy: "mod", Status: "closed"})
	second.Stop()

	third := start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	third.Say("alice", "!poll results")
	third.Expect("📊 Last poll, “Lunch?” (closed ")
}

// TestHelpListsPoll: !help describes the command with its usage and
// cooldown.
func TestHelpListsPoll(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), poll.New(poll.Config{})))
	h.Say("alice", "!help poll")
	h.Expect("📖 !poll <title> | <option> | <option>… [--time 2m] [--hidden] — or close, results — Opens a CyTube poll (leaders and up), closes it, or shows its results · rank: anyone · cooldown: 2s · plugin: poll")
}

// TestWithoutCyTube: with no connector (the console), the plugin says so
// before the router gives up on it, even when another plugin listens on
// cytube.> (and a request there then times out instead of failing).
func TestWithoutCyTube(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(poll.New(poll.Config{}), seen.New(seen.Config{})))
	h.SetRank("mod", 2)
	h.Say("mod", "!poll Lunch? | pizza | soup")
	h.Expect("⚠️ No CyTube channel answers here.")
	h.Say("alice", "!poll results")
	h.Expect("⚠️ No CyTube channel answers here")
}

// TestChannelConfig: a channel's section overrides the plugin's.
func TestChannelConfig(t *testing.T) {
	is := is.New(t)
	ch := start(t, channeltest.WithPluginConfig(poll.Name, map[string]any{
		"channels": map[string]any{"lounge": map[string]any{"open_rank": 3, "announce": false}, "other": map[string]any{"open_rank": 5}},
	}))
	ch.Join("admin", 3)
	ch.Say("mod", "!poll Lunch? | pizza | soup")
	ch.Expect("⛔ Only admins (rank 3) and up may open polls.")
	ch.Say("admin", "!poll Lunch? | pizza | soup")
	ch.Expect("📊 Poll open: “Lunch?”")
	ch.Join("admin2", 3)
	ch.Say("admin2", "!poll close")
	ch.Expect("📊 Poll closed.") // no announcement of the results here
	is.True(ch.Server.Poll(ch.Name) == nil)
	is.Equal(ch.Count("—"), 1) // only the opening line lists the options
}

// TestSeveralChannels: a poll opened in one channel of a bot in two is
// opened, refused, closed and announced there only.
func TestSeveralChannels(t *testing.T) {
	is := is.New(t)
	lounge := start(t, channeltest.WithChannels("cinema"))
	cinema := lounge.In("cinema")
	cinema.Join("mod", 2)
	cinema.Say("mod", "!poll Movie? | Alien | Heat")
	cinema.Expect("📊 Poll open: “Movie?”")
	is.True(lounge.Server.Poll("lounge") == nil)
	is.Equal(lounge.Server.Poll("cinema").Title, "Movie?")
	lounge.Say("mod2", "!poll Lunch? | pizza | soup") // the cinema's poll is no reason to refuse
	lounge.Expect("📊 Poll open: “Lunch?”")
	cinema.Join("mod3", 2)
	cinema.Say("mod3", "!poll close")
	cinema.Expect("📊 Poll closed: “Movie?” — Alien 0, Heat 0 (no votes)")
	is.Equal(lounge.Server.Poll("lounge").Title, "Lunch?")
	is.Equal(lounge.Count("Movie?"), 0)
}

// TestClosedWhileAway: a poll that closed while the bot was down is
// recorded closed when the bot is back, with the counts last seen.
func TestClosedWhileAway(t *testing.T) {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	first := start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	first.Say("mod", "!poll Lunch? | pizza | soup")
	first.Expect("📊 Poll open: “Lunch?”")
	first.Server.Vote(first.Name, "alice", 1)
	first.Eventually("record the vote", func() bool {
		got := polls(t, first)
		return len(got) == 1 && len(got[0].Counts) == 2 && got[0].Counts[1] == 1
	})
	first.Stop()
	closeAsOwner(t, first)

	second := start(t, channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	second.Eventually("record the poll closed", func() bool {
		got := polls(t, second)
		return len(got) == 1 && got[0].Status == "closed"
	})
	second.Say("alice", "!poll results")
	last := second.Expect("📊 Last poll, “Lunch?” (closed ")
	if !strings.HasSuffix(last, "): pizza 0, soup 1 (1 vote): soup wins") {
		t.Fatalf("results: %q", last)
	}
}

// TestRefusedCloseNamesNobody: a !poll close that closed nothing (no poll
// open, or the bot may not close polls) does not make its user the closer
// of the next poll someone else closes.
func TestRefusedCloseNamesNobody(t *testing.T) {
	is := is.New(t)
	ch := start(t)
	ch.Say("mod", "!poll close")
	ch.Expect("❌ There is no poll open.")

	ch.Server.OpenPoll(ch.Name, "owner", "Movie?", []string{"Alien", "Heat"}, false)
	ch.Eventually("record the poll", func() bool { return len(polls(t, ch)) == 1 })
	closeAsOwner(t, ch)
	ch.Expect("📊 Poll closed: “Movie?”")
	ch.Eventually("record the poll closed", func() bool {
		got := polls(t, ch)
		return len(got) == 1 && got[0].Status == "closed"
	})
	is.Equal(polls(t, ch)[0].ClosedBy, "") // CyTube's page closed it, not mod
}

// TestClosedBeforeRecorded: a poll the bot opened that closes at once (in
// CyTube's page, before the plugin has written down who asked for it) is
// recorded once, closed, with who opened it.
func TestClosedBeforeRecorded(t *testing.T) {
	is := is.New(t)
	ch := start(t)
	page, err := ch.Server.Dial(ch.Context(), ch.Name, "closer")
	is.NoErr(err)
	defer page.Close()
	ch.Server.SetRank(ch.Name, "closer", 3)
	sent := func(event string) func() bool {
		return func() bool {
			for _, f := range ch.Server.Frames() {
				if f.Event == event {
					return true
				}
			}
			return false
		}
	}
	ch.Server.Hold("newPoll", "closePoll") // CyTube busy: it opens the poll and closes it in one go
	ch.Say("mod", "!poll Lunch? | pizza | soup")
	ch.Eventually("see the poll sent", sent("newPoll"))
	is.NoErr(page.Emit("closePoll", nil))
	ch.Eventually("see the close sent", sent("closePoll"))
	ch.Server.Release()
	ch.Eventually("say the poll open and closed, in either order", func() bool {
		return ch.Count("📊 Poll open: “Lunch?”") == 1 && ch.Count("📊 Poll closed: “Lunch?”") == 1
	})
	ch.Eventually("record the poll closed", func() bool {
		got := polls(t, ch)
		return len(got) >= 1 && got[0].Status == "closed" && got[0].OpenedBy == "mod"
	})
	is.Equal(polls(t, ch), []stored{{Title: "Lunch?", OpenedBy: "mod", Status: "closed", Counts: []int{0, 0}}})
}

// TestClosedWhilePluginAway: when the poll plugin alone restarts (the
// connector stays in the channel, so no connection event comes), a poll
// that closed meanwhile is recorded closed with the counts last seen, and
// one still open stays recorded open, once.
func TestClosedWhilePluginAway(t *testing.T) {
	is := is.New(t)
	ch := start(t)
	plugins := ch.Bot.Plugins()
	restart := func(between func()) {
		t.Helper()
		is.NoErr(plugins.StopPlugin(ch.Context(), poll.Name))
		between()
		is.NoErr(plugins.StartPlugin(ch.Context(), poll.Name))
	}
	ch.Say("mod", "!poll Lunch? | pizza | soup")
	ch.Expect("📊 Poll open: “Lunch?”")
	ch.Server.Vote(ch.Name, "alice", 1)
	ch.Eventually("record the vote", func() bool {
		got := polls(t, ch)
		return len(got) == 1 && len(got[0].Counts) == 2 && got[0].Counts[1] == 1
	})
	restart(func() { closeWhilePluginAway(t, ch) })
	ch.Eventually("record the poll closed", func() bool {
		got := polls(t, ch)
		return len(got) == 1 && got[0].Status == "closed"
	})
	is.Equal(polls(t, ch), []stored{{Title: "Lunch?", Counts: []int{0, 1}, OpenedBy: "mod", ClosedBy: "(closed while the bot was away)", Status: "closed"}})

	ch.Server.OpenPoll(ch.Name, "owner", "Movie?", []string{"Alien", "Heat"}, false)
	ch.Eventually("record the second poll", func() bool { return len(polls(t, ch)) == 2 })
	restart(func() {})
	ch.Say("alice", "!poll results") // answered: the plugin follows the poll events again
	ch.Expect("📊 “Movie?” so far: Alien 0, Heat 0 (no votes)")
	ch.Server.Vote(ch.Name, "bob", 0)
	ch.Eventually("record bob's vote on the poll still open", func() bool {
		got := polls(t, ch)
		return len(got) == 2 && got[1].Status == "open" && len(got[1].Counts) == 2 && got[1].Counts[0] == 1
	})
	closeAsOwner(t, ch)
	ch.Eventually("record the second poll closed", func() bool {
		got := polls(t, ch)
		return len(got) == 2 && got[1].Status == "closed"
	})
	is.Equal(polls(t, ch)[1], stored{Title: "Movie?", Counts: []int{1, 0}, OpenedBy: "owner", Status: "closed"})
}

// TestLateEventOfAPollClosedOnComingBack: an event of a poll (the same
// CyTube timestamp) that comes after the plugin, starting, recorded it
// closed while it was away belongs to that record: its opening (CyTube
// still had it after all) opens it again, its close completes it; neither
// records the poll a second time.
func TestLateEventOfAPollClosedOnComingBack(t *testing.T) {
	is := is.New(t)
	ch := start(t)
	plugins := ch.Bot.Plugins()
	closedAway := func() {
		t.Helper()
		is.NoErr(plugins.StopPlugin(ch.Context(), poll.Name))
		if ch.Server.Poll(ch.Name) != nil {
			closeWhilePluginAway(t, ch)
		}
		is.NoErr(plugins.StartPlugin(ch.Context(), poll.Name))
		ch.Eventually("record the poll closed while away", func() bool {
			got := polls(t, ch)
			return len(got) == 1 && got[0].Status == "closed" && got[0].ClosedBy == "(closed while the bot was away)"
		})
	}
	ch.Server.OpenPoll(ch.Name, "owner", "Movie?", []string{"Alien", "Heat"}, false)
	var stamp int64
	ch.Eventually("record the poll and its timestamp", func() bool {
		db := database.NewClient(ch.Bot.Bus()).Namespace(poll.Name)
		res, err := db.Query(context.Background(), database.QueryRequest{Collection: poll.DefaultCollection})
		if err != nil || len(res.Items) != 1 {
			return false
		}
		var r struct {
			Timestamp int64 `json:"timestamp"`
		}
		if res.Items[0].Decode(&r) != nil {
			return false
		}
		stamp = r.Timestamp
		return stamp != 0
	})
	event := func(subject string, counts []int) {
		t.Helper()
		is.NoErr(ch.Bot.Bus().Publish(ch.Context(), subject, protocol.PollEvent{Channel: ch.Name, Poll: &protocol.Poll{
			Title: "Movie?", Options: []string{"Alien", "Heat"}, Counts: counts, Initiator: "owner", Timestamp: stamp}}))
	}

	closedAway()
	event(protocol.PollOpened, []int{0, 0})
	ch.Eventually("record the poll open again", func() bool {
		got := polls(t, ch)
		return len(got) == 1 && got[0].Status == "open"
	})
	is.Equal(polls(t, ch), []stored{{Title: "Movie?", OpenedBy: "owner", Status: "open"}})

	closedAway()
	event(protocol.PollClosed, []int{2, 1})
	ch.Expect("📊 Poll closed: “Movie?” — Alien 2, Heat 1 (3 votes): Alien wins")
	ch.Eventually("complete the record", func() bool {
		got := polls(t, ch)
		return len(got) >= 1 && got[0].ClosedBy == ""
	})
	is.Equal(polls(t, ch), []stored{{Title: "Movie?", Counts: []int{2, 1}, OpenedBy: "owner", Status: "closed"}})
}
