package dice_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugins/dice"
	"github.com/roseybot/rosey/roseytest"
)

// faces is a random source that returns queued die faces (1-based) and,
// once they run out, always the lowest face.
type faces struct {
	mu sync.Mutex
	q  []int
}

func (f *faces) push(v ...int) {
	f.mu.Lock()
	f.q = append(f.q, v...)
	f.mu.Unlock()
}

func (f *faces) intn(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) == 0 {
		return 0
	}
	v := f.q[0]
	f.q = f.q[1:]
	return (v - 1) % n
}

func start(t *testing.T, cfg dice.Config, opts ...roseytest.Option) (*roseytest.Harness, *faces) {
	f := &faces{}
	cfg.Rand = f.intn
	opts = append([]roseytest.Option{roseytest.WithPlugins(dice.New(cfg))}, opts...)
	return roseytest.New(t, opts...), f
}

func TestRollFormats(t *testing.T) {
	h, f := start(t, dice.Config{})
	for _, c := range []struct {
		line  string
		faces []int
		want  string
	}{
		{"!roll 2d6", []int{3, 5}, "🎲 Rolled 2d6: [3, 5] = 8"},
		{"!roll d20", []int{17}, "🎲 Rolled d20: [17] = 17"},
		{"!roll", []int{12}, "🎲 Rolled 1d20: [12] = 12"},
		{"!roll d%", []int{42}, "🎲 Rolled d%: [42] = 42"},
		{"!roll 2d6 + 1d4 - 1", []int{3, 5, 2}, "🎲 Rolled 2d6+1d4-1: [3, 5] + [2] - 1 = 9"},
		{"!roll 4d6kh3", []int{6, 1, 5, 4}, "🎲 Rolled 4d6kh3: [6, (1), 5, 4] = 15"},
		{"!roll 4d6dl1", []int{2, 2, 6, 3}, "🎲 Rolled 4d6dl1: [2, (2), 6, 3] = 11"},
		{"!roll 2d20kl1", []int{15, 7}, "🎲 Rolled 2d20kl1: [(15), 7] = 7"},
		{"!roll 4d6dh1", []int{6, 1, 5, 4}, "🎲 Rolled 4d6dh1: [(6), 1, 5, 4] = 10"},
		{"!roll 3d6!", []int{6, 6, 2, 3, 4}, "🎲 Rolled 3d6!: [6!, 6!, 2, 3, 4] = 21"},
		{"!roll adv", []int{8, 19}, "🎲 Rolled adv: [(8), 19] = 19"},
		{"!roll dis+3", []int{8, 19}, "🎲 Rolled dis+3: [8, (19)] + 3 = 11"},
		{"!roll -1d4+10", []int{3}, "🎲 Rolled -1d4+10: -[3] + 10 = 7"},
		{"!r 1D6", []int{4}, "🎲 Rolled 1d6: [4] = 4"},
	} {
		f.push(c.faces...)
		h.Say("alice", c.line)
		h.Expect(c.want)
	}
	h.ExpectNone()
}

func TestExplosionsAreCapped(t *testing.T) {
	is := is.New(t)
	h, f := start(t, dice.Config{Limits: dice.Limits{MaxExplosions: 3}})
	f.push(6, 6, 6, 6, 6, 6, 6, 6)
	h.Say("alice", "!roll 1d6!")
	r := h.Expect("🎲 Rolled 1d6!: [6!, 6!, 6!, 6] = 24")
	is.True(strings.Contains(r.Message, "capped at 3"))
}

func TestManyDiceAreSummed(t *testing.T) {
	is := is.New(t)
	h, _ := start(t, dice.Config{})
	h.Say("alice", "!roll 60d6+40d4")
	r := h.Expect("🎲 Rolled 60d6+40d4: [60 dice: 60] + [40 dice: 40] = 100")
	is.True(len(r.Message) < 320)
}

func TestInvalidNotationGetsReasonAndUsage(t *testing.T) {
	h, _ := start(t, dice.Config{Limits: dice.Limits{MaxDice: 10, MaxSides: 100, MaxLength: 20}})
	for _, c := range []struct{ line, want string }{
		{"!roll 11d6", "too many dice (at most 10"},
		{"!roll 6d6+6d6", "too many dice (at most 10"},
		{"!roll 1d101", "at most 100 sides"},
		{"!roll 1d6+1d6+1d6+1d6+1d6+1", "too long"},
		{"!roll banana", "I don't understand"},
		{"!roll 20", "no dice in it (try d20)"},
		{"!roll 0d6", "at least one die"},
		{"!roll 1d0", "at least one side"},
		{"!roll 2d6kh3", "keep 1 to 2"},
		{"!roll 2d6dl2", "drop 1 to 1"},
		{"!roll 1d1!", "cannot explode"},
		{"!roll 2d6+", "needs something after"},
		{"!roll 99999999d6", "too big a number"},
		{"!roll 1d6kh1kh1", "twice"},
	} {
		h.Say("alice", c.line)
		r := h.Expect("❌ ")
		if !strings.Contains(r.Message, c.want) || !strings.Contains(r.Message, "Usage: !roll") {
			t.Errorf("%s: got %q, want %q and the usage", c.line, r.Message, c.want)
		}
	}
}

func TestConfigSectionOverridesConstructor(t *testing.T) {
	h, f := start(t, dice.Config{}, roseytest.WithPluginConfig(dice.Name, map[string]any{"max_dice": 2, "default": "1d6"}))
	h.Say("alice", "!roll 3d6")
	h.Expect("at most 2 in one roll")
	f.push(5)
	h.Say("alice", "!roll")
	h.Expect("🎲 Rolled 1d6: [5] = 5")
}

func TestFlip(t *testing.T) {
	h, f := start(t, dice.Config{})
	f.push(1, 2)
	h.Say("alice", "!flip")
	h.Expect("🪙 Heads!")
	h.PM("bob", "!coin")
	h.ExpectPM("bob", "🪙 Tails!")
}

// Text after the notation is a label for the roll, said back with it.
func TestRollWithLabel(t *testing.T) {
	h, f := start(t, dice.Config{})
	for _, c := range []struct {
		line  string
		faces []int
		want  string
	}{
		{"!roll 2d6 for damage", []int{3, 5}, "🎲 Rolled 2d6 for damage: [3, 5] = 8"},
		{"!roll 1d20 + 5 to hit", []int{12}, "🎲 Rolled 1d20+5 to hit: [12] + 5 = 17"},
		{"!roll adv Stealth check", []int{4, 18}, "🎲 Rolled adv Stealth check: [(4), 18] = 18"},
		{"!roll d20 fire: 3", []int{7}, "🎲 Rolled d20 fire: 3: [7] = 7"},
	} {
		f.push(c.faces...)
		h.Say("alice", c.line)
		h.Expect(c.want)
	}
	// Something that looks like dice is not a label: the notation is wrong.
	for _, line := range []string{"!roll 2d6 d8", "!roll 2d6 +", "!roll for damage", "!roll 2d6 dis"} {
		h.Say("alice", line)
		h.Expect("❌")
	}
	// A long label is cut.
	f.push(1)
	h.Say("alice", "!roll d4 "+strings.Repeat("very ", 40)+"long")
	r := h.Expect("🎲 Rolled d4 very very")
	if len([]rune(r.Message)) > 120 {
		t.Fatalf("label not cut: %q", r.Message)
	}
}
