package dice_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/roseybot/rosey/plugins/dice"
)

// FuzzDiceNotation feeds the parser anything and checks what it accepts:
// no panic, limits respected, every die within its sides, and the total the
// sum of the kept dice and constants, within Expr.Bounds.
func FuzzDiceNotation(f *testing.F) {
	for _, s := range []string{"2d6", "d20", "d%", "2d6+1d4-1", "4d6kh3", "4d6dl1", "2d20kl1", "3d6!", "adv", "dis+5",
		"-d4", "1d1", "100d1000", "6d6!kh2", "10d10dh9", "+", "d", "kh", "2d6kh", "1d6!!", "0", "99999999", "d0", "--1d6"} {
		f.Add(s, uint64(1))
	}
	lim := dice.Limits{MaxDice: 50, MaxSides: 100, MaxExplosions: 20, MaxLength: 40}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		e, err := dice.Parse(s, lim)
		if err != nil {
			if !errors.Is(err, dice.ErrNotation) {
				t.Fatalf("Parse(%q): error %v does not match ErrNotation", s, err)
			}
			return
		}
		if utf8.RuneCountInString(s) > lim.MaxLength {
			t.Fatalf("Parse(%q): accepted more than %d characters", s, lim.MaxLength)
		}
		r := e.Roll(rand.New(rand.NewPCG(seed, 7)).IntN)
		dice, sum := 0, 0
		for _, tr := range r.Terms {
			tm := tr.Term
			if tm.Sides > lim.MaxSides {
				t.Fatalf("Parse(%q): %d sides", s, tm.Sides)
			}
			dice += tm.Count
			v := tm.Constant
			if tm.Sides > 0 {
				v = 0
				for _, d := range tr.Dice {
					if d.Value < 1 || d.Value > tm.Sides {
						t.Fatalf("%q: die %d outside 1..%d", s, d.Value, tm.Sides)
					}
					if !d.Dropped {
						v += d.Value
					}
				}
			}
			if v*tm.Sign != tr.Value {
				t.Fatalf("%q: term value %d, dice say %d", s, tr.Value, v*tm.Sign)
			}
			sum += tr.Value
		}
		if dice > lim.MaxDice {
			t.Fatalf("%q: %d dice, limit %d", s, dice, lim.MaxDice)
		}
		if r.Explosions > lim.MaxExplosions {
			t.Fatalf("%q: %d explosions, limit %d", s, r.Explosions, lim.MaxExplosions)
		}
		if sum != r.Total {
			t.Fatalf("%q: total %d, terms sum to %d", s, r.Total, sum)
		}
		if lo, hi := e.Bounds(); r.Total < lo || r.Total > hi {
			t.Fatalf("%q: total %d outside [%d, %d]", s, r.Total, lo, hi)
		}
		if out := r.String(); len(out) == 0 || out[0] == '/' {
			t.Fatalf("%q: rendered %q", s, out)
		}
	})
}
