package moderation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/channeltest"
	"github.com/roseybot/rosey/plugins/moderation"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// doRequest is an action the automod asked of the channel.
type doRequest struct{ Subject, User string }

// standIn plays the CyTube connector on the harness's bus: it says the
// bot's rank and emotes, and answers every action ok, passing each on to
// actions first; the answers wait while hold is open.
func standIn(tb testing.TB, h *roseytest.Harness, actions chan<- doRequest, hold <-chan struct{}) {
	tb.Helper()
	bus := h.Bus()
	ok := func(ctx context.Context, ev *eventbus.Event, data any) {
		raw, _ := json.Marshal(data)
		_ = bus.Respond(ctx, ev, protocol.Reply{OK: true, Data: raw})
	}
	subs := map[string]eventbus.Handler{
		"cytube.state.bot": func(ctx context.Context, ev *eventbus.Event) {
			ok(ctx, ev, protocol.BotState{Channel: roseytest.Channel, Name: "RoseyBot", Rank: 3})
		},
		"cytube.state.emotes": func(ctx context.Context, ev *eventbus.Event) {
			var emotes []protocol.Emote
			for i := range 50 {
				emotes = append(emotes, protocol.Emote{Name: fmt.Sprintf("Emote%d", i)})
			}
			ok(ctx, ev, emotes)
		},
		"cytube.do.user.*": func(ctx context.Context, ev *eventbus.Event) {
			var req protocol.ChannelRequest
			_ = ev.Decode(&req)
			actions <- doRequest{Subject: ev.Subject, User: req.User}
			if hold != nil {
				<-hold
			}
			ok(ctx, ev, nil)
		},
	}
	for subject, fn := range subs {
		sub, err := bus.Subscribe(subject, fn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	if err := bus.Flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// TestAutomodKeepsUpWithABurst: 100 lines said at once by 10 users are
// all judged and acted on in the order they came, and a command from
// another user is answered while the automod's first action still waits
// for CyTube.
func TestAutomodKeepsUpWithABurst(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch) // it stays put: the whole burst is one instant
	h := roseytest.New(t, roseytest.WithPlugins(moderation.New(moderation.Config{})), roseytest.WithClock(clock),
		roseytest.WithPluginConfig(moderation.Name, map[string]any{"automod": map[string]any{
			"flood":  on(map[string]any{"lines": 5, "window": "5s"}),
			"words":  on(map[string]any{"words": []string{"badword"}}),
			"ladder": []string{"mute 2m", "kick", "ban"},
		}}))
	actions := make(chan doRequest, 200)
	hold := make(chan struct{})
	standIn(t, h, actions, hold)
	h.SetRank("carol", 2)

	// Ten rounds, each user says a line per round. u3's second line is a
	// banned word; every user's sixth line is a flood, except u3's (in
	// the grace of its mute). The window starts again after an offense,
	// so the four lines after it are no flood.
	var want []doRequest
	for round := range 10 {
		for u := range 10 {
			user := fmt.Sprintf("u%d", u)
			line := fmt.Sprintf("%s says %d", user, round)
			if u == 3 && round == 1 {
				line = "what a badword"
				want = append(want, doRequest{"cytube.do.user.mute", user})
			}
			if round == 5 && u != 3 {
				want = append(want, doRequest{"cytube.do.user.mute", user})
			}
			h.Say(user, line)
		}
	}

	first := <-actions // the automod acts on u3 and waits for CyTube's answer
	h.Say("carol", "!modlog")
	h.ExpectPM("carol", "📜 Moderation log of test: nothing yet.")
	h.Expect("📬 carol, I sent you the moderation log by PM.")
	close(hold)

	got := []doRequest{first}
	for len(got) < len(want) {
		select {
		case a := <-actions:
			got = append(got, a)
		case <-time.After(roseytest.DefaultTimeout):
			t.Fatalf("only %d actions of %d: %v", len(got), len(want), got)
		}
	}
	is.Equal(got, want)
	for _, w := range want {
		h.Expect(fmt.Sprintf("🔇 automod muted %s for 2m", w.User))
	}
	h.ExpectNone() // nothing more: no action for u3's flood, none for the lines after the offenses
	select {
	case a := <-actions:
		t.Fatalf("an action too many: %v", a)
	default:
	}
	db := database.NewClient(h.Bus()).Namespace(moderation.Name)
	res, err := db.Query(context.Background(), database.QueryRequest{Collection: moderation.DefaultCollection})
	is.NoErr(err)
	is.Equal(len(res.Items), len(want))
	for i, it := range res.Items {
		var a action
		is.NoErr(it.Decode(&a))
		is.Equal(a.Target, want[i].User) // recorded in the order done
		is.Equal(a.By, "automod")
	}
}

// BenchmarkAutomod reports how many chat lines the automod judges per
// second with every rule on (lines/s), from the lines published on
// cytube.chat to the last one judged, against the bus alone carrying the
// same lines to a subscriber that does nothing (bus_lines/s).
func BenchmarkAutomod(b *testing.B) {
	clock := roseytest.NewClock(epoch)
	h := roseytest.New(b, roseytest.WithPlugins(moderation.New(moderation.Config{})), roseytest.WithClock(clock),
		roseytest.WithLogLevel(slog.LevelError),
		roseytest.WithPluginConfig(moderation.Name, map[string]any{"automod": map[string]any{
			"flood":  on(map[string]any{"lines": 100}),
			"repeat": on(map[string]any{}),
			"caps":   on(map[string]any{}),
			"words":  on(map[string]any{"words": []string{"badword", "worse word", "awful"}, "patterns": []string{`(?i)free\s+v-?bucks`, `discord\.gg/\w+`}}),
			"links":  on(map[string]any{"new_for": "10m"}),
			"emotes": on(map[string]any{}),
			"ladder": []string{"warn"},
		}}))
	actions := make(chan doRequest, 16)
	standIn(b, h, actions, nil)
	// The clock stays put (the automod reads it when it judges, not when
	// a line is said): at most 50 lines per user keeps everyone below
	// the flood limit of 100 lines.
	users := max(1000, b.N/50+1)
	for u := range users {
		h.SetRank(fmt.Sprintf("user%d", u), float64(u%2)) // half guests, half registered
	}
	lines := []string{
		"did anyone watch the match last night? it was great",
		"lol Emote3 that was funny Emote7",
		"I think the next video should be something calmer",
		"Check https://example.com/page for the schedule", // registered users only: see below
		"brb getting coffee",
	}
	line := func(i int) (string, string) {
		u := i % users
		l := lines[i%len(lines)]
		if u%2 == 0 && i%len(lines) == 3 {
			l = lines[0] // guests post no links
		}
		return fmt.Sprintf("user%d", u), fmt.Sprintf("%s (%d)", l, i)
	}

	// The baseline: the bus alone.
	bus := h.Bus()
	var seen atomic.Int64
	done := make(chan struct{})
	sub, err := bus.Subscribe("bench.chat", func(context.Context, *eventbus.Event) {
		if seen.Add(1) == int64(b.N) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range b.N {
		user, text := line(i)
		if err := bus.Publish(context.Background(), "bench.chat", protocol.ChatMessage{User: user, Message: text, Channel: roseytest.Channel, Time: time.Now().UnixMilli()}); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	busRate := float64(b.N) / time.Since(start).Seconds()
	_ = sub.Unsubscribe()

	b.ResetTimer()
	start = time.Now()
	for i := range b.N {
		user, text := line(i)
		h.Say(user, text)
	}
	h.Say("sentinel", "badword") // judged last: its warning means every line before was judged
	h.Expect("⚠️ sentinel, automod warning (banned words).")
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "lines/s")
	b.ReportMetric(busRate, "bus_lines/s")
	b.ReportMetric(rate/busRate, "judged/bus")
}

// TestAutomodBurstInCyTube: the same burst in a channel of the fake
// CyTube server: every mute reaches CyTube, in the order of the lines
// that earned them, and a moderator's command said in the middle of the
// burst is answered.
func TestAutomodBurstInCyTube(t *testing.T) {
	is := is.New(t)
	clock := roseytest.NewClock(epoch)
	ch := startAuto(t, clock, map[string]any{"automod": map[string]any{
		"flood":  on(map[string]any{"lines": 5, "window": "5s"}),
		"words":  on(map[string]any{"words": []string{"badword"}}),
		"ladder": []string{"mute 2m", "kick", "ban"},
	}})
	var want []string
	for round := range 10 {
		for u := range 10 {
			user := fmt.Sprintf("u%d", u)
			ch.Join(user, 0)
			line := fmt.Sprintf("%s says %d", user, round)
			if u == 3 && round == 1 {
				line = "what a badword"
				want = append(want, "/mute "+user)
			}
			if round == 5 && u != 3 {
				want = append(want, "/mute "+user)
			}
			ch.Say(user, line)
		}
		if round == 4 {
			ch.Say("mod", "!modlog u3")
		}
	}
	for _, w := range want {
		ch.Expect("🔇 automod muted " + w[len("/mute "):] + " for 2m")
	}
	// The answer to the moderator is not ordered with the mutes (it may
	// come before or after any of them): look for it anywhere.
	for deadline := time.Now().Add(channeltest.Timeout); !slices.ContainsFunc(ch.Said(), func(l string) bool {
		return strings.Contains(l, "📬 mod, I sent you the moderation log by PM.")
	}); {
		if time.Now().After(deadline) {
			t.Fatalf("the moderator's command was not answered; the bot said:\n%s", strings.Join(ch.Said(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var got []string
	for _, f := range ch.Server.Frames() {
		var m struct {
			Msg string `json:"msg"`
		}
		if f.Event == "chatMsg" && f.User == ch.BotName && json.Unmarshal(f.Data, &m) == nil && len(m.Msg) > 0 && m.Msg[0] == '/' {
			got = append(got, m.Msg)
		}
	}
	is.Equal(got, want)
	for u := range 10 {
		user, _ := present(ch, fmt.Sprintf("u%d", u))
		is.True(user.Muted)
	}
}

// TestAutomodWithoutCyTube: with no CyTube channel to act in, or the
// console (which refuses every action), every step is a warning.
func TestAutomodWithoutCyTube(t *testing.T) {
	clock := roseytest.NewClock(epoch)
	h := roseytest.New(t, roseytest.WithPlugins(moderation.New(moderation.Config{})), roseytest.WithClock(clock),
		roseytest.WithPluginConfig(moderation.Name, map[string]any{"automod": map[string]any{
			"caps": on(map[string]any{}), "ladder": []string{"mute 1m", "ban"}}}))
	h.Say("alice", "I AM SHOUTING AT ALL OF YOU")
	h.Expect("⚠️ alice, automod warning (caps: 100% capitals).")

	in, _ := io.Pipe() // nobody types: the test says the lines
	con, err := console.New(h.Bus(), console.Config{Channel: roseytest.Channel, In: in, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := con.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = con.Stop(context.Background()) })
	h.Say("bob", "I AM SHOUTING AT ALL OF YOU")
	h.Expect("⚠️ bob, automod warning (caps: 100% capitals).")
	clock.Advance(time.Minute) // past alice's grace
	h.Say("alice", "I AM SHOUTING AT ALL OF YOU AGAIN")
	h.Expect("⚠️ alice, automod warning (caps: 100% capitals).") // a ban, but the console has no moderation
}
