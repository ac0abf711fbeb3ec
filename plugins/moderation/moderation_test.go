package moderation_test

import (
	"context"
	"log/slog"
	"slices"
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
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/moderation"
	"github.com/roseybot/rosey/roseytest"
)

// start runs the bot with the plugin in a registered channel (CyTube's
// default permissions: mute and kick from 1.5, ban from 2).
func start(t *testing.T, botRank float64, opts ...channeltest.Option) *channeltest.Channel {
	t.Helper()
	opts = append([]channeltest.Option{
		channeltest.WithPlugins(moderation.New(moderation.Config{}), help.New(help.Config{})),
		channeltest.WithChannel(cytubetest.ChannelConfig{Registered: true}),
		channeltest.WithBotRank(botRank),
		channeltest.WithPluginConfig(moderation.Name, map[string]any{"admins": []string{"boss"}}),
	}, opts...)
	ch := channeltest.Start(t, opts...)
	ch.Join("mod", 2)
	ch.Join("mod2", 2)
	ch.Join("owner", 4)
	ch.Join("boss", 1)
	ch.Join("alice", 1)
	return ch
}

type action struct {
	Action string `json:"action"`
	Target string `json:"target"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	Status string `json:"status"`
}

func recorded(t *testing.T, ch *channeltest.Channel) []action {
	t.Helper()
	db := database.NewClient(ch.Bot.Bus()).Namespace(moderation.Name)
	res, err := db.Query(context.Background(), database.QueryRequest{Collection: moderation.DefaultCollection, Sort: []string{"at"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []action
	for _, it := range res.Items {
		var a action
		if err := it.Decode(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func present(ch *channeltest.Channel, name string) (cytubetest.User, bool) {
	for _, u := range ch.Server.Users(ch.Name) {
		if strings.EqualFold(u.Name, name) {
			return u, true
		}
	}
	return cytubetest.User{}, false
}

// TestActions: each command acts in CyTube and is recorded with who,
// what and why.
func TestActions(t *testing.T) {
	is := is.New(t)
	ch := start(t, 3)
	ch.Join("troll", 0)
	ch.Join("spammer", 1)
	ch.Join("noisy", 1)

	ch.Say("mod", "!warn noisy  please stop   shouting")
	ch.Expect("⚠️ noisy, this is warning 1 from mod: please stop shouting")
	ch.Say("mod", "!mute noisy")
	ch.Expect("🔇 mod muted noisy.")
	ch.Eventually("see noisy muted", func() bool { u, _ := present(ch, "noisy"); return u.Muted })
	ch.Say("mod2", "!unmute @noisy")
	ch.Expect("🔊 mod2 unmuted noisy.")
	ch.Eventually("see noisy unmuted", func() bool { u, _ := present(ch, "noisy"); return !u.Muted })

	ch.Say("mod2", "!kick TROLL spam links")
	ch.Expect("👢 mod2 kicked troll: spam links.")
	_, here := present(ch, "troll")
	is.True(!here)
	ch.Say("mod", "!ban spammer raid")
	ch.Expect("🔨 mod banned spammer: raid.")
	is.True(ch.Server.Banned(ch.Name, "spammer"))

	ch.PM("owner", "!warn alice last chance")
	ch.ExpectPM("owner", "⚠️ Warned alice (warning 1).")
	ch.Expect("⚠️ alice, this is warning 1 from owner: last chance") // said in chat all the same

	is.Equal(recorded(t, ch), []action{
		{Action: "warn", Target: "noisy", By: "mod", Reason: "please stop shouting"},
		{Action: "mute", Target: "noisy", By: "mod"},
		{Action: "unmute", Target: "noisy", By: "mod2"},
		{Action: "kick", Target: "troll", By: "mod2", Reason: "spam links"},
		{Action: "ban", Target: "spammer", By: "mod", Reason: "raid"},
		{Action: "warn", Target: "alice", By: "owner", Reason: "last chance"},
	})
}

// TestRefusals: the command's rank, a target of equal or higher rank
// than the moderator or the bot, a bot admin, oneself, the bot, an absent
// user and a bad reason are refused before anything is sent; CyTube's own
// refusals come back in its words; the bot's rank below the channel's
// permission is refused by the connector.
func TestRefusals(t *testing.T) {
	is := is.New(t)
	ch := start(t, 2)
	ch.Join("troll", 0)
	ch.Join("lead", 2)
	for _, c := range []struct{ user, line, want string }{
		{"alice", "!kick troll", "⛔ !kick needs rank moderator or higher."},
		{"mod", "!kick", "❌ Usage: !kick <user> [reason]"},
		{"mod", "!kick mod2", "⛔ You may not kick mod2: their rank (moderator) is not below yours."},
		{"mod", "!ban owner", "⛔ You may not ban owner: their rank (owner) is not below yours."},
		{"owner", "!kick lead", "⛔ I cannot kick lead: their rank (moderator) is not below mine (moderator)."},
		{"owner", "!mute boss", "⛔ boss is a bot admin here: nobody may mute them through me."},
		{"mod", "!warn MOD", "❌ You cannot warn yourself."},
		{"owner", "!ban RoseyBot", "❌ I will not ban myself."},
		{"mod", "!kick ghost", "❌ ghost is not in the channel."},
		{"mod", "!warn troll " + strings.Repeat("x", 101), "❌ A reason is at most 100 characters (that one has 101)."},
		{"mod", "!unmute troll", "❌ CyTube says: troll is not muted."},
		{"mod2", "!ban ghost", "🔨 mod2 banned ghost."},
		{"mod", "!ban ghost", "❌ CyTube says: ghost is already banned"},
	} {
		ch.Say(c.user, c.line)
		ch.Expect(c.want)
	}
	_, here := present(ch, "troll")
	is.True(here)
	is.Equal(len(recorded(t, ch)), 1) // the one ban that happened

	ch.Server.UpdateChannel(ch.Name, func(cc *cytubetest.ChannelConfig) { cc.Permissions = map[string]float64{"kick": 3} })
	ch.Say("owner", "!kick troll")
	ch.Expect("⛔ I may not kick here: ")
	_, here = present(ch, "troll")
	is.True(here)
}

// TestModlogSurvivesRestart: !modlog sends the latest actions by PM to
// moderators only, for everyone or one user, and the log and the warning
// counts are kept across a restart.
func TestModlogSurvivesRestart(t *testing.T) {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	same := []channeltest.Option{channeltest.WithServer(srv), channeltest.WithDataDir(dir),
		channeltest.WithPluginConfig(moderation.Name, map[string]any{"modlog_lines": 2})}
	first := start(t, 3, same...)
	first.Join("troll", 0)
	first.Say("mod", "!warn troll caps")
	first.Expect("⚠️ troll, this is warning 1 from mod: caps")
	first.Say("mod2", "!warn alice spoilers")
	first.Expect("⚠️ alice, this is warning 1 from mod2: spoilers")
	first.Stop()

	second := start(t, 3, same...)
	second.Join("troll", 0)
	second.Say("owner", "!warn troll caps again")
	second.Expect("⚠️ troll, this is warning 2 from owner: caps again")
	second.Say("alice", "!modlog")
	second.Expect("⛔ !modlog needs rank moderator or higher.")
	second.Say("mod", "!modlog")
	second.Expect("📬 mod, I sent you the moderation log by PM.")
	second.ExpectPM("mod", "📜 Moderation log of lounge: 3 action(s), the latest 2:")
	second.ExpectPM("mod", "owner: warn troll (caps again)")
	second.ExpectPM("mod", "mod2: warn alice (spoilers)")
	second.PM("mod2", "!modlog troll")
	second.ExpectPM("mod2", "📜 Moderation log of lounge about troll: 2 action(s), the latest 2:")
	second.ExpectPM("mod2", "owner: warn troll (caps again)")
	second.ExpectPM("mod2", "mod: warn troll (caps)")
	second.PM("owner", "!modlog nobody") // mod2's cooldown may still run
	second.ExpectPM("owner", "📜 Moderation log of lounge about nobody: nothing yet.")
}

// TestHelpAndConfig: !help lists the commands with their rank and
// cooldown; a bad config stops the plugin, naming the field.
func TestHelpAndConfig(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), moderation.New(moderation.Config{})))
	h.Say("alice", "!help kick")
	h.Expect("📖 !kick <user> [reason] — Kicks a user from the channel · rank: moderator or higher · cooldown: 1s · plugin: moderation")
	h.Say("alice", "!help modlog")
	h.Expect("📖 !modlog [user] — Sends you the latest moderation actions by PM · rank: moderator or higher · cooldown: 5s · plugin: moderation")

	// The config raises a rank: !help shows it, the router refuses below it.
	raised := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), moderation.New(moderation.Config{})),
		roseytest.WithPluginConfig(moderation.Name, map[string]any{"ranks": map[string]any{"ban": 3, "kick": 4},
			"channels": map[string]any{"cinema": map[string]any{"ranks": map[string]any{"kick": 3}}}}))
	raised.Say("alice", "!help ban")
	raised.Expect("📖 !ban <user> [reason] — Bans a user from the channel · rank: admin or higher")
	raised.Say("alice", "!help kick") // the lowest any channel allows
	raised.Expect("📖 !kick <user> [reason] — Kicks a user from the channel · rank: admin or higher")
	raised.SetRank("mod", 2)
	raised.Say("mod", "!ban troll")
	raised.Expect("⛔ !ban needs rank admin or higher.")

	for _, c := range []struct {
		section map[string]any
		want    string
	}{
		{map[string]any{"ranks": map[string]any{"kick": 1}}, "ranks.kick: 1 is not between 2 (moderator) and 5"},
		{map[string]any{"ranks": map[string]any{"slap": 3}}, `ranks: no command "slap"`},
		{map[string]any{"modlog_lines": 50}, "modlog_lines: 50 is not between 1 and 20"},
		{map[string]any{"admins": []string{" "}}, "admins: an empty name"},
		{map[string]any{"channels": map[string]any{"x": map[string]any{"ranks": map[string]any{"ban": 1}}}}, "ranks.ban: 1 is not between 2 (moderator) and 5 (in channels.x)"},
		{map[string]any{"automod": map[string]any{"words": map[string]any{"on": true, "patterns": []string{"ok", "a(b"}}}}, "automod.words.patterns[1]: error parsing regexp: missing closing ): `a(b`"},
		{map[string]any{"automod": map[string]any{"words": map[string]any{"on": true}}}, "automod.words: on, but no words or patterns"},
		{map[string]any{"automod": map[string]any{"words": map[string]any{"words": []string{"ok", "!!"}}}}, "automod.words.words[1]: no letters or digits"},
		{map[string]any{"automod": map[string]any{"flood": map[string]any{"lines": 0.5}}}, "automod.flood.lines"},
		{map[string]any{"automod": map[string]any{"flood": map[string]any{"window": 5}}}, `automod.flood.window: 5 has no unit: write "5s"`},
		{map[string]any{"automod": map[string]any{"flood": map[string]any{"lines": 500}}}, "automod.flood.lines: 500 is not between 1 and 100"},
		{map[string]any{"automod": map[string]any{"caps": map[string]any{"ratio": 1.5}}}, "automod.caps.ratio: 1.5 is not above 0 and at most 1"},
		{map[string]any{"automod": map[string]any{"ladder": []string{"warn", "mute forever"}}}, `automod.ladder[1]: "mute forever": the mute's duration is not between 1s and 720h`},
		{map[string]any{"automod": map[string]any{"ladder": []string{"slap"}}}, `automod.ladder[0]: "slap" is not a step (warn, mute <duration>, kick or ban)`},
		{map[string]any{"automod": map[string]any{"forgive": "10s"}}, "automod.forgive: 10s is less than 1m"},
		{map[string]any{"automod": map[string]any{"exempt_rank": 0.5}}, "automod.exempt_rank: 0.5 is not between 1 and 6"},
		{map[string]any{"automod": map[string]any{"floods": map[string]any{}}}, `unknown field "floods"`},
		{map[string]any{"channels": map[string]any{"cinema": map[string]any{"automod": map[string]any{"emotes": map[string]any{"max": 1000}}}}}, "automod.emotes.max: 1000 is not between 1 and 100 (in channels.cinema)"},
		{map[string]any{"channels": map[string]any{"cinema": map[string]any{"automod": map[string]any{"words": map[string]any{"patterns": []string{"*"}}}}}}, "automod.words.patterns[0]: error parsing regexp: missing argument to repetition operator: `*` (in channels.cinema)"},
	} {
		h := roseytest.New(t, roseytest.WithPlugins(moderation.New(moderation.Config{})), roseytest.WithPluginConfig(moderation.Name, c.section),
			roseytest.WithLogLevel(slog.LevelError+1))
		var st supervisor.Status
		for _, s := range h.Bot().Plugins().Status() {
			if s.Info.Name == moderation.Name {
				st = s
			}
		}
		is.Equal(st.State, plugin.StateFailed)
		if !strings.Contains(st.LastError, c.want) {
			t.Errorf("config %v: error %q does not say %q", c.section, st.LastError, c.want)
		}
	}
}

// TestRaisedRank: the config raises a command's rank, for every channel
// or for one; a channel adds admins; the router's admins act with rank 3,
// and are protected like the plugin's admins.
func TestRaisedRank(t *testing.T) {
	ch := start(t, 3, channeltest.WithPluginConfig(moderation.Name, map[string]any{"ranks": map[string]any{"ban": 3}, "admins": []string{"boss"},
		"channels": map[string]any{"lounge": map[string]any{"ranks": map[string]any{"kick": 4}, "admins": []string{"vip"}}}}),
		channeltest.WithConfig(func(c *rosey.Config) { c.Router.Admins = []string{"chief"} }))
	ch.Join("troll", 0)
	ch.Join("chief", 1)
	ch.Join("vip", 0)
	ch.Say("mod", "!mute vip")
	ch.Expect("⛔ vip is a bot admin here: nobody may mute them through me.")
	ch.Say("mod2", "!mute boss")
	ch.Expect("⛔ boss is a bot admin here: nobody may mute them through me.")
	ch.Say("chief", "!kick troll")
	ch.Expect("⛔ !kick needs rank owner (4) or higher here.")
	ch.Say("mod", "!ban troll")
	ch.Expect("⛔ !ban needs rank admin or higher.") // the router's refusal: Info shows the raised rank
	ch.Say("chief", "!ban troll")
	ch.Expect("🔨 chief banned troll.")
	ch.Say("owner", "!kick chief")
	ch.Expect("⛔ chief is a bot admin here: nobody may kick them through me.")
}

// TestSeveralChannels: an action said in one channel of a bot in two acts
// and is logged there only.
func TestSeveralChannels(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddChannel("cinema", cytubetest.ChannelConfig{Registered: true})
	lounge := start(t, 3, channeltest.WithServer(srv), channeltest.WithChannels("cinema"))
	cinema := lounge.In("cinema")
	lounge.Join("troll", 0)
	cinema.Join("troll", 0)
	cinema.Join("mod", 2)
	cinema.Say("mod", "!kick troll off topic")
	cinema.Expect("👢 mod kicked troll: off topic.")
	_, here := present(lounge, "troll")
	is.True(here)
	_, here = present(cinema, "troll")
	is.True(!here)
	lounge.Say("mod2", "!modlog")
	lounge.ExpectPM("mod2", "📜 Moderation log of lounge: nothing yet.")
}

// TestUnansweredActionsLogged: a kick, ban or mute CyTube does not answer
// in time may have happened all the same: it is logged as unconfirmed,
// the moderator is told so, and !modlog shows it.
func TestUnansweredActionsLogged(t *testing.T) {
	is := is.New(t)
	ch := start(t, 3, channeltest.WithConfig(func(c *rosey.Config) { c.CyTube.ActionTimeout = 200 * time.Millisecond }))
	ch.Join("troll", 0)
	ch.Join("spammer", 1)
	ch.Join("noisy", 1)
	ch.Server.Hold("chatMsg") // CyTube busy: it takes the commands (and the replies) in only at Release
	ch.Say("mod2", "!kick troll spam links")
	ch.Say("mod", "!ban spammer raid")
	ch.Say("owner", "!mute noisy")
	ch.Eventually("log the three attempts", func() bool { return len(recorded(t, ch)) == 3 })
	ch.Server.Release()
	// The three replies, in whichever order they were sent.
	for _, want := range []string{
		"⚠️ CyTube did not answer mod2's kick of troll in time: it may have happened or not; it is logged as unconfirmed.",
		"⚠️ CyTube did not answer mod's ban of spammer in time: it may have happened or not; it is logged as unconfirmed.",
		"⚠️ CyTube did not answer owner's mute of noisy in time: it may have happened or not; it is logged as unconfirmed.",
	} {
		ch.Eventually("say "+want, func() bool { return ch.Count(want) == 1 })
	}
	got := recorded(t, ch)
	slices.SortFunc(got, func(a, b action) int { return strings.Compare(a.Action, b.Action) })
	is.Equal(got, []action{
		{Action: "ban", Target: "spammer", By: "mod", Reason: "raid", Status: "unconfirmed"},
		{Action: "kick", Target: "troll", By: "mod2", Reason: "spam links", Status: "unconfirmed"},
		{Action: "mute", Target: "noisy", By: "owner", Status: "unconfirmed"},
	})
	ch.Say("mod", "!modlog troll")
	ch.ExpectPM("mod", "mod2: kick troll (spam links) — unconfirmed: CyTube did not answer")
}

// A kick whose connection drops after it was sent, before CyTube answered,
// may have happened: it is logged as unconfirmed and the moderator is
// told why, instead of "not in the channel" as if it had never been sent.
func TestActionLostWithTheConnectionLogged(t *testing.T) {
	is := is.New(t)
	ch := start(t, 3)
	ch.Join("troll", 0)
	ch.Server.Hold("chatMsg") // the kick reaches CyTube, which is lost with the connection before acting
	ch.Say("mod2", "!kick troll spam")
	if _, err := ch.Server.WaitFrame(ch.Context(), func(f cytubetest.Frame) bool {
		return f.Event == "chatMsg" && strings.Contains(string(f.Data), "/kick troll")
	}); err != nil {
		t.Fatal(err)
	}
	ch.Server.DropAll()
	ch.Server.Release()
	ch.Expect("⚠️ The connection to CyTube dropped before it answered mod2's kick of troll: it may have happened or not; it is logged as unconfirmed.")
	is.Equal(recorded(t, ch), []action{{Action: "kick", Target: "troll", By: "mod2", Reason: "spam", Status: "unconfirmed"}})
	ch.Say("mod", "!modlog troll")
	ch.ExpectPM("mod", "mod2: kick troll (spam) — unconfirmed: CyTube did not answer")
}
