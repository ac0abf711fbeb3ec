package loadtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// DefaultMix is the mix of the capacity goals: mostly stateless commands,
// a quarter of lines touching the database, some plain chat.
const DefaultMix = "roll=40,flip=20,quote-add=10,seen=10,help=5,chat=15"

// ErrBadMix is returned by ParseMix for a mix it cannot read.
var ErrBadMix = errors.New("loadtest: bad mix")

// A Kind is one sort of chat line the harness offers.
type Kind struct {
	// Name is how a mix names it ("roll").
	Name string
	// Line returns the line's text; n numbers the line in the run, user
	// and other are the speaker and another simulated user.
	Line func(n int, user, other string) string
	// Answers is false for a line that expects no answer (plain chat).
	Answers bool
	// Parts is true for a command whose answer may come in several
	// messages (a long !help goes by PM in several lines).
	Parts bool
}

// Kinds are the kinds of line a mix may name.
var kinds = []Kind{
	{Name: "roll", Answers: true, Line: func(n int, _, _ string) string {
		return [...]string{"!roll 2d6", "!roll 1d20", "!roll 3d6+2", "!roll 4d8"}[n%4]
	}},
	{Name: "flip", Answers: true, Line: func(int, string, string) string { return "!flip" }},
	// !8ball has a cooldown per user (10s by default): a user asking
	// again sooner is refused once, then ignored, so the harness counts
	// such lines lost. Mix it with many users at a low rate.
	{Name: "8ball", Answers: true, Line: func(n int, _, _ string) string { return "!8ball will line " + strconv.Itoa(n) + " pass?" }},
	{Name: "quote-add", Answers: true, Line: func(n int, user, _ string) string {
		return "!quote add load line " + strconv.Itoa(n) + " was here — " + user
	}},
	{Name: "quote", Answers: true, Line: func(int, string, string) string { return "!quote" }},
	{Name: "seen", Answers: true, Line: func(_ int, _, other string) string { return "!seen " + other }},
	{Name: "help", Answers: true, Parts: true, Line: func(int, string, string) string { return "!help" }},
	{Name: "chat", Line: func(n int, _, _ string) string {
		return "just chatting about the video, line " + strconv.Itoa(n)
	}},
}

// KindNames lists the names a mix may use.
func KindNames() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.Name)
	}
	return out
}

// Share is one kind's weight in a Mix.
type Share struct {
	Kind   Kind
	Weight int
}

// Mix is what lines a run offers, each kind in proportion to its weight.
type Mix []Share

// ParseMix reads a mix such as "roll=40,flip=20,chat=40". Weights are
// whole numbers, relative to their sum; a kind may appear once.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, fmt.Errorf("%w: %q has no weight (want kind=weight)", ErrBadMix, item)
		}
		i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: unknown kind %q (have %s)", ErrBadMix, name, strings.Join(KindNames(), ", "))
		}
		weight, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || weight < 0 {
			return nil, fmt.Errorf("%w: weight of %s is %q, want a whole number ≥ 0", ErrBadMix, name, w)
		}
		if slices.ContainsFunc(m, func(s Share) bool { return s.Kind.Name == name }) {
			return nil, fmt.Errorf("%w: %s is listed twice", ErrBadMix, name)
		}
		if weight > 0 {
			m = append(m, Share{Kind: kinds[i], Weight: weight})
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: %q names no kind with a weight above 0", ErrBadMix, s)
	}
	return m, nil
}

// String returns the mix as ParseMix reads it.
func (m Mix) String() string {
	var parts []string
	for _, s := range m {
		parts = append(parts, s.Kind.Name+"="+strconv.Itoa(s.Weight))
	}
	return strings.Join(parts, ",")
}

// CommandShare is the fraction of lines that are commands.
func (m Mix) CommandShare() float64 {
	var all, cmds int
	for _, s := range m {
		all += s.Weight
		if s.Kind.Answers {
			cmds += s.Weight
		}
	}
	if all == 0 {
		return 0
	}
	return float64(cmds) / float64(all)
}

// picker draws kinds in the mix's proportions.
type picker struct {
	m     Mix
	total int
	rng   *rand.Rand
}

func newPicker(m Mix, seed uint64) *picker {
	p := &picker{m: m, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, s := range m {
		p.total += s.Weight
	}
	return p
}

func (p *picker) next() Kind {
	n := p.rng.IntN(p.total)
	for _, s := range p.m {
		if n < s.Weight {
			return s.Kind
		}
		n -= s.Weight
	}
	return p.m[len(p.m)-1].Kind
}
