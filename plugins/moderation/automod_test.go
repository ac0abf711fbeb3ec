package moderation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/moderation"
	"github.com/roseybot/rosey/roseytest"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// startAuto runs the bot (rank 3) with the automod configured by section
// on a clock the test moves, in a registered channel with emotes; the
// router's admin is chief, the plugin's boss.
func startAuto(t *testing.T, clock *roseytest.Clock, section map[string]any, opts ...channeltest.Option) *channeltest.Channel {
	t.Helper()
	section["admins"] = []string{"boss"}
	opts = append([]channeltest.Option{
		channeltest.WithPlugins(moderation.New(moderation.Config{}), help.New(help.Config{})),
		channeltest.WithChannel(cytubetest.ChannelConfig{Registered: true, Emotes: []string{"Kappa", "PogChamp", ":)"}}),
		channeltest.WithBotRank(3),
		channeltest.WithPluginConfig(moderation.Name, section),
		channeltest.WithConfig(func(c *rosey.Config) { c.Clock = clock; c.Router.Admins = []string{"chief"} }),
	}, opts...)
	ch := channeltest.Start(t, opts...)
	ch.Join("mod", 2)
	return ch
}

func on(fields map[string]any) map[string]any {
	fields["on"] = true
	return fields
}

// automodLines lists what the automod said, in order.
func automodLines(ch *channeltest.Channel) []string {
	var out []string
	for _, l := range ch.Said() {
		if strings.Contains(l, "automod") {
			out = append(out, l)
		}
	}
	return out
}

// TestAutomodRules: each rule, on, finds its offense and the automod
// acts (here the ladder is a warning each time); moderators, the plugin's
// admins and the router's are never judged; !modlog shows the automod's
// actions beside the moderators'.
func TestAutomodRules(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := startAuto(t, clock, map[string]any{"automod": map[string]any{
		"flood":  on(map[string]any{}),
		"repeat": on(map[string]any{}),
		"caps":   on(map[string]any{}),
		"words":  on(map[string]any{"words": []string{"badword", "très mal"}, "patterns": []string{`(?i)free\s+v-?bucks`}}),
		"links":  on(map[string]any{"new_for": "10m"}),
		"emotes": on(map[string]any{"max": 3}),
		"ladder": []string{"warn"},
		"grace":  "1s",
	}})
	ch.Join("regular", 1)
	ch.Join("boss", 1)
	ch.Join("chief", 1)
	ch.Eventually("see regular's first visit recorded", func() bool {
		db := database.NewClient(ch.Bot.Bus()).Namespace(moderation.Name)
		var m map[string]any
		return db.Get(context.Background(), "automod_members", database.StringID("lounge/regular"), &m) == nil
	})
	clock.Advance(11 * time.Minute) // regular is no longer new
	ch.Join("newbie", 1)

	for i := range 6 {
		ch.Say("flooder", fmt.Sprintf("line %d", i))
	}
	ch.Expect("⚠️ flooder, automod warning (flood: more than 5 lines in 5s).")
	ch.Say("parrot", "buy my stuff")
	ch.Say("parrot", "BUY  my stuff")
	ch.Say("parrot", "buy my STUFF ")
	ch.Expect("⚠️ parrot, automod warning (repeated line: 3 times in 1m).")
	ch.Say("shouter", "WHY IS NOBODY LISTENING TO ME")
	ch.Expect("⚠️ shouter, automod warning (caps: 100% capitals).")
	ch.Say("potty", "you are a BadWord, really")
	ch.Expect("⚠️ potty, automod warning (banned words).")
	ch.Say("potty2", "c'est très  mal")
	ch.Expect("⚠️ potty2, automod warning (banned words).")
	ch.Say("scammer", "get Free V-Bucks now")
	ch.Expect("⚠️ scammer, automod warning (banned words).")
	ch.Say("guest", "look at https://example.com/x")
	ch.Expect("⚠️ guest, automod warning (link from a rank below registered user).")
	ch.Say("newbie", "my site: shop.example.io")
	ch.Expect("⚠️ newbie, automod warning (link from a user new to the channel (here for less than 10m)).")
	ch.Say("emoter", "Kappa Kappa PogChamp :) hi")
	ch.Expect("⚠️ emoter, automod warning (emote spam: 4 emotes, at most 3).")

	// Not offenses: a link from a registered user here for long, three
	// emotes, a short shout, a word inside another, lines of other users.
	ch.Say("regular", "see https://example.com")
	ch.Say("regular", "Kappa Kappa PogChamp")
	ch.Say("regular", "OK FINE")
	ch.Say("regular", "badwords are a thing")
	// Never judged: a moderator, the plugin's admin, the router's admin.
	for i := range 8 {
		ch.Say("mod", "SPAM SPAM SPAM SPAM SPAM SPAM")
		ch.Say("boss", fmt.Sprintf("boss line %d badword", i))
		ch.Say("chief", "https://example.com/chief")
	}
	ch.Say("last", "badword") // the automod judges in order: once this is warned, all above were judged
	ch.Expect("⚠️ last, automod warning (banned words).")
	is.Equal(len(automodLines(ch)), 10)
	for _, who := range []string{"regular", "mod", "boss", "chief"} {
		is.Equal(ch.Count("⚠️ "+who+","), 0)
	}

	ch.Say("mod", "!modlog")
	ch.ExpectPM("mod", "📜 Moderation log of lounge: 10 action(s), the latest 5:")
	ch.ExpectPM("mod", "automod: warn last (banned words)")
	clock.Advance(10 * time.Second) // !modlog's cooldown
	ch.PM("mod", "!modlog flooder")
	ch.ExpectPM("mod", "automod: warn flooder (flood: more than 5 lines in 5s)")
}

// TestAutomodLadder: offenses climb the ladder (warn, mute for a while,
// kick, ban); a mute is lifted when its time is over; a period without
// offense forgives a step; offenses in the grace after an action do not
// climb.
func TestAutomodLadder(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := startAuto(t, clock, map[string]any{"automod": map[string]any{
		"words":   on(map[string]any{"words": []string{"badword"}}),
		"ladder":  []string{"warn", "mute 2m", "kick", "ban"},
		"forgive": "1h",
		"grace":   "10s",
	}})
	ch.Join("troll", 0)
	ch.Join("bystander", 0)
	muted := func() bool { u, _ := present(ch, "troll"); return u.Muted }

	ch.Say("troll", "badword")
	ch.Expect("⚠️ troll, automod warning (banned words).")
	ch.Say("troll", "badword again") // within the grace: no step
	clock.Advance(20 * time.Second)
	ch.Say("troll", "badword")
	ch.Expect("🔇 automod muted troll for 2m (banned words).")
	is.True(muted())
	clock.Advance(time.Second)
	ch.Say("bystander", "badword") // a barrier: everything before was judged
	ch.Expect("⚠️ bystander, automod warning (banned words).")
	is.Equal(ch.Count("troll, automod warning"), 1)

	is.True(clock.WaitTimers(1)) // the mute's end
	clock.Advance(2 * time.Minute)
	ch.Eventually("see troll unmuted", func() bool { return !muted() })

	clock.Advance(time.Hour) // one step forgiven: a mute again, not a kick
	ch.Say("troll", "badword")
	ch.Expect("🔇 automod muted troll for 2m (banned words).")
	clock.Advance(20 * time.Second)
	ch.Say("troll", "badword")
	ch.Expect("👢 automod kicked troll (banned words).")
	ch.Eventually("see troll gone", func() bool { _, here := present(ch, "troll"); return !here })
	ch.Join("troll", 0)
	clock.Advance(20 * time.Second)
	ch.Say("troll", "badword")
	ch.Expect("🔨 automod banned troll (banned words).")
	is.True(ch.Server.Banned(ch.Name, "troll"))

	ch.Eventually("see the log complete", func() bool { return len(recorded(t, ch)) == 7 })
	is.Equal(recorded(t, ch), []action{
		{Action: "warn", Target: "troll", By: "automod", Reason: "banned words"},
		{Action: "mute", Target: "troll", By: "automod", Reason: "banned words"},
		{Action: "warn", Target: "bystander", By: "automod", Reason: "banned words"},
		{Action: "unmute", Target: "troll", By: "automod", Reason: "the mute of 2m is over"},
		{Action: "mute", Target: "troll", By: "automod", Reason: "banned words"},
		{Action: "kick", Target: "troll", By: "automod", Reason: "banned words"},
		{Action: "ban", Target: "troll", By: "automod", Reason: "banned words"},
	})
}

// TestAutomodSurvivesRestart: a user's place on the ladder and a mute to
// lift are kept across a restart of the bot.
func TestAutomodSurvivesRestart(t *testing.T) {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	clock := roseytest.NewClock(epoch)
	section := func() map[string]any {
		return map[string]any{"automod": map[string]any{
			"words": on(map[string]any{"words": []string{"badword"}}), "ladder": []string{"warn", "mute 5m", "kick"}}}
	}
	first := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	first.Join("troll", 0)
	first.Say("troll", "badword")
	first.Expect("⚠️ troll, automod warning (banned words).")
	clock.Advance(time.Minute)
	first.Say("troll", "badword")
	first.Expect("🔇 automod muted troll for 5m (banned words).")
	first.Stop()

	second := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	muted := func() bool { u, _ := present(second, "troll"); return u.Muted }
	if !muted() {
		t.Fatal("troll is not muted after the restart")
	}
	if !clock.WaitTimers(1) { // the mute's end, read from the database
		t.Fatal("no timer for the mute's end")
	}
	clock.Advance(5 * time.Minute)
	second.Eventually("see troll unmuted after the restart", func() bool { u, here := present(second, "troll"); return here && !u.Muted })
	clock.Advance(time.Minute)
	second.Say("troll", "badword")
	second.Expect("👢 automod kicked troll (banned words).")
}

// TestAutomodChannelConfig: a channel changes only the automod fields it
// writes; each channel is judged by its own rules.
func TestAutomodChannelConfig(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddChannel("cinema", cytubetest.ChannelConfig{Registered: true})
	clock := roseytest.NewClock(epoch)
	lounge := startAuto(t, clock, map[string]any{
		"automod": map[string]any{"flood": on(map[string]any{"lines": 3}), "caps": on(map[string]any{}), "ladder": []string{"warn"}},
		"channels": map[string]any{"cinema": map[string]any{"automod": map[string]any{
			"flood": map[string]any{"lines": 2}, "caps": map[string]any{"on": false}}}},
	}, channeltest.WithServer(srv), channeltest.WithChannels("cinema"))
	cinema := lounge.In("cinema")
	for _, c := range []*channeltest.Channel{lounge, cinema} {
		for i := range 3 {
			c.Say("talker", fmt.Sprintf("hello %d", i))
		}
		c.Say("shouter", "I AM SHOUTING AT EVERYONE HERE")
	}
	cinema.Expect("⚠️ talker, automod warning (flood: more than 2 lines in 5s).")
	lounge.Expect("⚠️ shouter, automod warning (caps")
	lounge.Say("talker", "one more") // the fourth line in the lounge: more than 3
	lounge.Expect("⚠️ talker, automod warning (flood: more than 3 lines in 5s).")
	cinema.Say("talker2", "a")
	cinema.Say("talker2", "b")
	cinema.Say("talker2", "c")
	cinema.Expect("⚠️ talker2, automod warning (flood: more than 2 lines in 5s).")
	is.Equal(cinema.Count("shouter"), 0)
	is.Equal(lounge.Count("automod"), 2)
}

// TestAutomodWarnsWhenItMayNotAct: a step the bot's rank does not allow
// (the channel's permission, or a user of the bot's own rank) is a
// warning instead, recorded as such.
func TestAutomodWarnsWhenItMayNotAct(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := startAuto(t, clock, map[string]any{"automod": map[string]any{
		"words": on(map[string]any{"words": []string{"badword"}}), "ladder": []string{"kick"}}},
		channeltest.WithBotRank(1.5), channeltest.WithChannel(cytubetest.ChannelConfig{Registered: true, Permissions: map[string]float64{"kick": 2}}))
	ch.Join("troll", 0)
	ch.Join("leader", 1.5)
	ch.Say("troll", "badword")
	ch.Expect("⚠️ troll, automod warning (banned words).") // the bot may not kick here
	ch.Say("leader", "badword")
	ch.Expect("⚠️ leader, automod warning (banned words).") // not below the bot's rank
	_, here := present(ch, "troll")
	is.True(here)
	ch.Eventually("see both recorded", func() bool { return len(recorded(t, ch)) == 2 })
	is.Equal(recorded(t, ch), []action{
		{Action: "warn", Target: "troll", By: "automod", Reason: "banned words"},
		{Action: "warn", Target: "leader", By: "automod", Reason: "banned words"},
	})
}

// TestAutomodRemembersFirstVisits: with links.new_for, a user who first
// joined long ago is not new when they come back, after a restart too.
func TestAutomodRemembersFirstVisits(t *testing.T) {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	clock := roseytest.NewClock(epoch)
	section := func() map[string]any {
		return map[string]any{"automod": map[string]any{"links": on(map[string]any{"new_for": "10m"}), "ladder": []string{"warn"}}}
	}
	first := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	first.Join("veteran", 1)
	first.Eventually("see veteran's first visit recorded", func() bool {
		db := database.NewClient(first.Bot.Bus()).Namespace(moderation.Name)
		var m map[string]any
		return db.Get(context.Background(), "automod_members", database.StringID("lounge/veteran"), &m) == nil
	})
	first.Stop()
	srv.Leave("lounge", "veteran")
	clock.Advance(time.Hour)

	second := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	second.Join("veteran", 1)
	second.Join("fresh", 1)
	second.Eventually("see fresh's first visit recorded", func() bool {
		db := database.NewClient(second.Bot.Bus()).Namespace(moderation.Name)
		var m map[string]any
		return db.Get(context.Background(), "automod_members", database.StringID("lounge/fresh"), &m) == nil
	})
	second.Say("veteran", "my blog: https://example.com")
	second.Say("fresh", "my blog: https://example.com")
	second.Expect("⚠️ fresh, automod warning (link from a user new to the channel (here for less than 10m)).")
	if n := second.Count("veteran"); n != 0 {
		t.Fatalf("veteran was taken for new: %v", second.Said())
	}
}

// TestModeratorMuteOutlastsAutomod: once a moderator has unmuted and muted
// again a user the automod had muted, the end of the automod's mute does
// not lift the moderator's (nor does a restart).
func TestModeratorMuteOutlastsAutomod(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	dir := t.TempDir()
	clock := roseytest.NewClock(epoch)
	section := func() map[string]any {
		return map[string]any{"automod": map[string]any{"words": on(map[string]any{"words": []string{"badword"}}), "ladder": []string{"mute 10m"}}}
	}
	first := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	first.Join("mod2", 2)
	first.Join("troll", 0)
	muted := func(ch *channeltest.Channel, who string) bool { u, _ := present(ch, who); return u.Muted }

	first.Say("troll", "badword")
	first.Expect("🔇 automod muted troll for 10m (banned words).")
	first.Say("mod", "!unmute troll")
	first.Expect("🔊 mod unmuted troll.")
	first.Say("mod2", "!mute troll too noisy")
	first.Expect("🔇 mod2 muted troll: too noisy.")
	is.True(muted(first, "troll"))
	first.Stop()

	second := startAuto(t, clock, section(), channeltest.WithServer(srv), channeltest.WithDataDir(dir))
	second.Join("spammer", 0)
	second.Say("spammer", "badword") // a mute whose end comes after troll's would have
	second.Expect("🔇 automod muted spammer for 10m (banned words).")
	is.True(clock.WaitTimers(1))
	clock.Advance(11 * time.Minute)
	second.Eventually("see spammer unmuted", func() bool { return !muted(second, "spammer") })
	second.Eventually("record spammer's unmute", func() bool {
		for _, a := range recorded(t, second) {
			if a.Action == "unmute" && a.Target == "spammer" {
				return true
			}
		}
		return false
	})
	is.True(muted(second, "troll")) // the moderator's mute holds
	for _, a := range recorded(t, second) {
		is.True(!(a.Action == "unmute" && a.By == "automod" && a.Target == "troll"))
	}
}

// TestAutomodLiftsAMuteItsAnswerMissed: a mute whose answer CyTube was too
// late to give (the action timed out) may have happened all the same: its
// end is kept, so the user is not muted for ever, and it is logged as
// unconfirmed.
func TestAutomodLiftsAMuteItsAnswerMissed(t *testing.T) {
	clock := roseytest.NewClock(epoch)
	ch := startAuto(t, clock, map[string]any{"automod": map[string]any{
		"words": on(map[string]any{"words": []string{"badword"}}), "ladder": []string{"warn", "mute 10m"}}},
		channeltest.WithConfig(func(c *rosey.Config) { c.CyTube.ActionTimeout = 300 * time.Millisecond }))
	ch.Join("troll", 0)
	ch.Join("bystander", 0)
	muted := func() bool { u, _ := present(ch, "troll"); return u.Muted }
	sent := func(text string) func() bool {
		return func() bool {
			for _, f := range ch.Server.Frames() {
				if f.Event == "chatMsg" && f.User == ch.BotName && strings.Contains(string(f.Data), text) {
					return true
				}
			}
			return false
		}
	}

	ch.Say("troll", "badword")
	ch.Expect("⚠️ troll, automod warning (banned words).")
	clock.Advance(20 * time.Second)
	ch.Server.Hold("chatMsg") // CyTube busy: its answer to the mute comes after the connector gave up
	ch.Say("troll", "badword")
	ch.Eventually("see the mute sent", sent("/mute troll"))
	ch.Say("bystander", "badword") // acted on once the mute is done with
	ch.Eventually("see the next action sent", sent("bystander, automod warning"))
	// Done with before the next action: logged as attempted.
	if !slices.Contains(recorded(t, ch), action{Action: "mute", Target: "troll", By: moderation.AutomodName, Reason: "banned words", Status: moderation.StatusUnconfirmed}) {
		t.Fatalf("the unanswered mute is not logged as unconfirmed: %+v", recorded(t, ch))
	}
	ch.Server.Release()
	ch.Eventually("see troll muted", muted)

	if !clock.WaitTimers(1) {
		t.Fatal("no timer for the end of the mute")
	}
	clock.Advance(10 * time.Minute)
	ch.Eventually("see troll unmuted", func() bool { return !muted() })
}
