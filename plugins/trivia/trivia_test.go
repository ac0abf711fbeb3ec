package trivia_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"math/rand/v2"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/trivia"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

var testQuestions = []trivia.Question{
	{Category: "test", Question: "Capital of France?", Answer: "Paris"},
	{Category: "test", Question: "Chemical symbol for gold?", Answer: "Au"},
	{Category: "test", Question: "Capital of Argentina?", Answer: "Buenos Aires"},
	{Category: "test", Question: "Who wrote Hamlet?", Answer: "William Shakespeare", Alternatives: []string{"Shakespeare"}},
}

// answers maps each test question to guesses that must be refused and one that must be accepted.
var answers = map[string]struct {
	wrong []string
	right string
}{
	"Capital of France?":        {[]string{"london", "parma", "parisian"}, "the PARIS!"},
	"Chemical symbol for gold?": {[]string{"ag", "a", "auu"}, "Au."},
	"Capital of Argentina?":     {[]string{"buenos", "rosario"}, "buenos aries"},
	"Who wrote Hamlet?":         {[]string{"marlowe", "shakes"}, "shakspeare"},
}

var frozen = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func config(qt time.Duration) trivia.Config {
	return trivia.Config{
		QuestionTime: trivia.Duration(qt),
		Pause:        trivia.Duration(10 * time.Millisecond),
		Questions:    testQuestions,
		Rand:         rand.New(rand.NewPCG(7, 7)),
		Now:          func() time.Time { return frozen }, // every answer is instant: full points
	}
}

func newHarness(t *testing.T, cfg trivia.Config, opts ...roseytest.Option) *roseytest.Harness {
	return roseytest.New(t, append([]roseytest.Option{roseytest.WithPlugins(trivia.New(cfg))}, opts...)...)
}

var questionRE = regexp.MustCompile(`^❓ \[(\d+)/(\d+)\] \(test\) (.*)$`)

// question waits for the next question and returns its text.
func question(t *testing.T, h *roseytest.Harness) string {
	t.Helper()
	r := h.Expect("❓ [")
	if r.Channel != roseytest.Channel { // the game's own channel, not every channel
		t.Fatalf("question said in %q, want %q", r.Channel, roseytest.Channel)
	}
	m := questionRE.FindStringSubmatch(r.Message)
	if m == nil {
		t.Fatalf("not a question: %q", r.Message)
	}
	return m[3]
}

func TestGameWithTolerantAnswersAndLeaderboard(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, config(time.Minute))
	h.Say("alice", "!trivia start 4 test")
	h.Expect("🧠 Trivia! 4 questions about test, started by alice")
	players := []string{"alice", "bob", "alice", "carol"}
	for i, who := range players {
		q := question(t, h)
		a, ok := answers[q]
		is.True(ok) // a known question
		for _, w := range a.wrong {
			h.Say("dave", w)
			h.Say("dave", "!a "+w)
		}
		h.ExpectNone() // wrong answers are ignored quietly
		if i%2 == 0 {
			h.Say(who, a.right)
		} else {
			h.Say(who, "!a "+a.right)
		}
		h.Expect("✅ " + who + " got it! The answer was: ")
	}
	h.Expect("🏁 Trivia over! Scores: alice 20, bob 10, carol 10")

	h.Say("dave", "!trivia top")
	h.Expect("🏆 Trivia top: 1. alice 20 · 2. bob 10 · 3. carol 10")
	h.Say("dave", "!trivia stats alice")
	h.Expect("📊 alice: 20 points, 2 correct, 1 games")
	h.Say("bob", "!trivia stats")
	h.Expect("📊 bob: 10 points, 1 correct, 1 games")
	h.Say("bob", "!trivia stats dave")
	h.Expect("📊 dave has no trivia points yet.")
}

func TestHintAndTimeUp(t *testing.T) {
	cfg := config(300 * time.Millisecond)
	cfg.Questions = testQuestions[2:3]
	cfg.OnlyCustom = true
	h := newHarness(t, cfg)
	h.Say("alice", "!trivia start")
	h.Expect("🧠 Trivia! 1 question, started by alice")
	h.Expect("❓ [1/1] (test) Capital of Argentina?")
	h.Expect("💡 Hint: B_____ A____")
	h.Expect("⏰ Time's up! The answer was: Buenos Aires")
	h.Expect("🏁 Trivia over! Nobody scored.")
	// The channel is free again.
	h.Say("alice", "!trivia start 1")
	h.Expect("🧠 Trivia! 1 question")
}

func TestSpeedScoring(t *testing.T) {
	is := is.New(t)
	cfg := config(10 * time.Second)
	cfg.Questions, cfg.OnlyCustom = testQuestions[:1], true
	var late atomicTime
	late.set(frozen)
	cfg.Now = late.get
	h := newHarness(t, cfg)
	h.Say("alice", "!trivia start")
	h.Expect("🧠 Trivia!")
	h.Expect("❓ [1/1]")
	late.set(frozen.Add(8 * time.Second)) // 2 s of 10 left
	h.Say("bob", "paris")
	r := h.Expect("✅ bob got it!")
	is.True(strings.Contains(r.Message, "(+3, 3 this game)")) // 1 + round(9*0.2)
	h.Expect("🏁 Trivia over! Scores: bob 3")
}

func TestOneGamePerChannelAndStop(t *testing.T) {
	h := newHarness(t, config(time.Minute))
	h.SetRank("mod", protocol.RankModerator)
	h.Say("alice", "!trivia start 3")
	h.Expect("🧠 Trivia! 3 questions, started by alice")
	h.Expect("❓ [1/3]")
	h.Say("bob", "!trivia start")
	h.Expect("❌ Trivia game already in progress")
	h.Say("bob", "!trivia stop")
	h.Expect("⛔ Only alice (who started it) or a moderator can stop the game.")
	h.Say("mod", "!trivia stop")
	h.Expect("🛑 Trivia stopped by mod. Nobody scored.")
	h.Say("alice", "!trivia stop")
	h.Expect("❌ No trivia game is running.")
	h.Say("bob", "!a paris")
	h.Expect("❌ No trivia game is running.")

	h.Say("bob", "!trivia start 2 test")
	h.Expect("🧠 Trivia! 2 questions about test, started by bob")
	q := question(t, h)
	h.Say("alice", answers[q].right)
	h.Expect("✅ alice got it!")
	question(t, h)
	h.Say("BOB", "!trivia stop")
	h.Expect("🛑 Trivia stopped by BOB. Scores: alice 10")
	h.ExpectNone()
}

func TestBadArguments(t *testing.T) {
	h := newHarness(t, config(time.Minute))
	for line, want := range map[string]string{
		"!trivia":                 "❌ Usage: !trivia start [N] [category] | stop | categories | top | stats [user]",
		"!trivia dance":           "❌ Usage: !trivia start",
		"!trivia start 0":         "❌ Choose between 1 and 50 questions.",
		"!trivia start 51":        "❌ Choose between 1 and 50 questions.",
		"!trivia start 3 nosuch":  `❌ Unknown category "nosuch". Try !trivia categories`,
		"!trivia start test math": "❌ Usage: !trivia start [N] [category]",
		"!a":                      "❌ Usage: !a <answer>",
		"!answer":                 "❌ Usage: !a <answer>",
		"!trivia top":             "🏆 Nobody has scored yet.",
		"!trivia stats zed":       "📊 zed has no trivia points yet.",
	} {
		h.Say("alice", line)
		h.Expect(want)
	}
}

func TestBuiltinBank(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(trivia.New(trivia.Config{})))
	h.Say("alice", "!trivia categories")
	r := h.Expect("📚 Trivia categories: ")
	counts := regexp.MustCompile(`([a-z]+) \((\d+)\)`).FindAllStringSubmatch(r.Message, -1)
	total := 0
	for _, c := range counts {
		n, _ := strconv.Atoi(c[2])
		is.True(n >= 10) // every category is worth a game
		total += n
	}
	is.True(len(counts) >= 6)
	is.True(total >= 150)
	is.True(strings.Contains(r.Message, "science ("))
}

func TestQuestionsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.json")
	b, _ := json.Marshal([]trivia.Question{{Category: "Movies", Question: "Who directed Jaws?", Answer: "Steven Spielberg", Alternatives: []string{"Spielberg"}}})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h := roseytest.New(t, roseytest.WithPlugins(trivia.New(trivia.Config{Now: func() time.Time { return frozen }})),
		roseytest.WithPluginConfig("trivia", map[string]any{"questions_file": path, "only_custom": true, "question_time": "1m", "pause": "10ms"}))
	h.Say("alice", "!trivia categories")
	h.Expect("📚 Trivia categories: movies (1).")
	h.Say("alice", "!trivia start movies")
	h.Expect("🧠 Trivia! 1 question about movies")
	h.Expect("❓ [1/1] (movies) Who directed Jaws?")
	h.Say("bob", "spielberg")
	h.Expect("✅ bob got it! The answer was: Steven Spielberg (+10, 10 this game)")
	h.Expect("🏁 Trivia over! Scores: bob 10")
}

func TestBadQuestionsFileFailsStart(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`[{"category": "x", "question": "no answer?"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := roseytest.New(t, roseytest.WithPlugins(trivia.New(trivia.Config{})),
		roseytest.WithPluginConfig("trivia", map[string]any{"questions_file": path}))
	for _, s := range h.Bot().Plugins().Status() {
		if s.Info.Name == "trivia" {
			is.True(s.State != "running")
			return
		}
	}
	t.Fatal("trivia not in the plugin list")
}

func TestLeaderboardSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	withDir := roseytest.WithConfig(func(c *rosey.Config) { c.Database.Dir = dir })
	cfg := config(time.Minute)
	cfg.Questions, cfg.OnlyCustom = testQuestions[:1], true
	t.Run("first", func(t *testing.T) {
		h := newHarness(t, cfg, withDir)
		h.Say("alice", "!trivia start")
		h.Expect("🧠")
		h.Expect("❓")
		h.Say("alice", "paris")
		h.Expect("✅ alice got it!")
		h.Expect("🏁")
	})
	h := newHarness(t, cfg, withDir)
	h.Say("bob", "!trivia top")
	h.Expect("🏆 Trivia top: 1. alice 10")
}

// On the harness's Clock, a question's hint and time-up, and the pause
// between questions, come as the test moves the clock.
func TestQuestionTimeOnTheHarnessClock(t *testing.T) {
	clk := roseytest.NewClock(frozen)
	cfg := config(30 * time.Second)
	cfg.Now = nil // the Host's clock
	cfg.Pause = trivia.Duration(5 * time.Second)
	h := newHarness(t, cfg, roseytest.WithClock(clk))
	h.Say("alice", "!trivia start 2 test")
	h.Expect("🧠 Trivia! 2 questions")
	question(t, h)
	// The router's timeouts run on the clock too: let it have "!trivia
	// start"'s (empty) answer before the clock moves past them.
	h.ExpectNone()
	clk.Advance(15 * time.Second)
	h.Expect("💡 Hint: ")
	clk.Advance(15 * time.Second)
	h.Expect("⏰ Time's up! The answer was: ")
	clk.WaitTimers(1) // the pause
	clk.Advance(5 * time.Second)
	q := question(t, h)
	h.Say("bob", answers[q].right)
	h.Expect("✅ bob got it!")
	h.Expect("🏁 Trivia over!") // the last question: no pause
}
