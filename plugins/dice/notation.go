package dice

import (
	"errors"
	"fmt"
	"github.com/roseybot/rosey/plugin"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what an expression may ask for. A zero field takes its
// default; fields above their hard ceiling are clamped to it, so no
// configuration can make one roll expensive.
type Limits struct {
	// MaxDice bounds the dice rolled before explosions, over all terms.
	MaxDice int `json:"max_dice,omitempty"`
	// MaxSides bounds the sides of one die.
	MaxSides int `json:"max_sides,omitempty"`
	// MaxExplosions bounds the extra dice exploding dice may add, over all terms.
	MaxExplosions int `json:"max_explosions,omitempty"`
	// MaxLength bounds the expression's length in characters.
	MaxLength int `json:"max_length,omitempty"`
}

// Defaults and hard ceilings of Limits.
const (
	DefaultMaxDice       = 100
	DefaultMaxSides      = 1000
	DefaultMaxExplosions = 50
	DefaultMaxLength     = 80

	CeilingMaxDice       = 10_000
	CeilingMaxSides      = 1_000_000
	CeilingMaxExplosions = 10_000
	CeilingMaxLength     = 1_000

	// MaxConstant bounds a constant term such as the 5 of 1d20+5.
	MaxConstant = 1_000_000
)

func (l Limits) withDefaults() Limits {
	fix := func(v, def, ceil int) int {
		switch {
		case v <= 0:
			return def
		case v > ceil:
			return ceil
		}
		return v
	}
	return Limits{
		MaxDice:       fix(l.MaxDice, DefaultMaxDice, CeilingMaxDice),
		MaxSides:      fix(l.MaxSides, DefaultMaxSides, CeilingMaxSides),
		MaxExplosions: fix(l.MaxExplosions, DefaultMaxExplosions, CeilingMaxExplosions),
		MaxLength:     fix(l.MaxLength, DefaultMaxLength, CeilingMaxLength),
	}
}

// ErrNotation is matched (errors.Is) by every error from Parse. Its
// message is short and meant for chat users.
var ErrNotation = errors.New("invalid dice notation")

type notationError struct{ msg string }

func (e *notationError) Error() string        { return e.msg }
func (e *notationError) Is(target error) bool { return target == ErrNotation }

func bad(format string, args ...any) error {
	return &notationError{fmt.Sprintf(format, args...)}
}

// Which dice a term keeps, in Term.Keep.
const (
	KeepAll = iota
	KeepHighest
	KeepLowest
	DropHighest
	DropLowest
)

// Term is one signed part of an expression: dice (Sides > 0) or a constant.
type Term struct {
	// Sign is +1 or -1.
	Sign int
	// Count and Sides describe the dice: Count d Sides. Sides is 0 for a constant.
	Count, Sides int
	// Constant is the value of a constant term.
	Constant int
	// Keep is KeepAll, KeepHighest, KeepLowest, DropHighest or DropLowest,
	// applied to N dice.
	Keep, N int
	// Explode rolls one more die each time a die shows its highest face.
	Explode bool
	// Text is how the term was written, normalised ("adv", "4d6kh3").
	Text string
}

// Expr is a parsed dice expression such as 2d6+1d4-1.
type Expr struct {
	Terms []Term
	// Text is the expression as written, lower case without spaces.
	Text   string
	limits Limits
}

// Limits returns the limits the expression was checked against.
func (e Expr) Limits() Limits { return e.limits }

// Parse reads dice notation, case-insensitively and ignoring spaces:
//
//	NdM      N dice of M sides (N defaults to 1: d20)
//	d%       a percentile die, d100
//	+ -      add or subtract terms and constants: 2d6+1d4-1
//	khN klN  keep the N highest or lowest dice: 4d6kh3, 2d20kl1 (kN is khN)
//	dhN dlN  drop the N highest or lowest dice: 4d6dl1
//	!        exploding dice: a die showing its highest face adds another: 3d6!
//	adv dis  advantage and disadvantage: 2d20kh1 and 2d20kl1
//
// It checks the expression against lim (zero fields take the defaults).
// Every error matches ErrNotation.
func Parse(s string, lim Limits) (Expr, error) {
	lim = lim.withDefaults()
	if n := utf8.RuneCountInString(s); n > lim.MaxLength {
		return Expr{}, bad("that is too long (%d characters, at most %d)", n, lim.MaxLength)
	}
	text := strings.ToLower(strings.Join(strings.Fields(s), ""))
	if text == "" {
		return Expr{}, bad("nothing to roll")
	}
	e := Expr{Text: text, limits: lim}
	dice := 0
	rest := text
	for first := true; rest != ""; first = false {
		sign := 1
		switch rest[0] {
		case '+':
			rest = rest[1:]
		case '-':
			sign, rest = -1, rest[1:]
		default:
			if !first {
				return Expr{}, bad("expected + or - before %q", plugin.Clip(rest, 16))
			}
		}
		end := strings.IndexAny(rest, "+-")
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		rest = rest[end:]
		if word == "" {
			return Expr{}, bad("a + or - needs something after it")
		}
		t, err := parseTerm(word, lim)
		if err != nil {
			return Expr{}, err
		}
		t.Sign = sign
		dice += t.Count
		if dice > lim.MaxDice {
			return Expr{}, bad("too many dice (at most %d in one roll)", lim.MaxDice)
		}
		e.Terms = append(e.Terms, t)
	}
	if !slices.ContainsFunc(e.Terms, func(t Term) bool { return t.Sides > 0 }) {
		return Expr{}, bad("%q has no dice in it (try d%s)", plugin.Clip(text, 16), plugin.Clip(strings.TrimLeft(text, "+-"), 16))
	}
	return e, nil
}

func parseTerm(w string, lim Limits) (Term, error) {
	switch w {
	case "adv":
		return Term{Count: 2, Sides: 20, Keep: KeepHighest, N: 1, Text: w}, nil
	case "dis":
		return Term{Count: 2, Sides: 20, Keep: KeepLowest, N: 1, Text: w}, nil
	}
	t := Term{Text: w}
	count, rest, err := number(w)
	if err != nil {
		return t, err
	}
	if rest == "" { // a constant
		if count > MaxConstant {
			return t, bad("%s is too big a number (at most %d)", plugin.Clip(w, 16), MaxConstant)
		}
		t.Constant = count
		return t, nil
	}
	if rest[0] != 'd' {
		return t, bad("I don't understand %q", plugin.Clip(w, 16))
	}
	if len(rest) == len(w) { // "d20": one die
		count = 1
	}
	if count < 1 {
		return t, bad("roll at least one die")
	}
	if count > lim.MaxDice {
		return t, bad("too many dice (at most %d in one roll)", lim.MaxDice)
	}
	t.Count = count
	rest = rest[1:]
	if strings.HasPrefix(rest, "%") {
		t.Sides, rest = 100, rest[1:]
	} else {
		var sides int
		before := rest
		sides, rest, err = number(rest)
		if err != nil {
			return t, err
		}
		if rest == before {
			return t, bad("%q needs a number of sides after the d", plugin.Clip(w, 16))
		}
		if sides < 1 {
			return t, bad("a die needs at least one side")
		}
		if sides > lim.MaxSides {
			return t, bad("dice have at most %d sides", lim.MaxSides)
		}
		t.Sides = sides
	}
	for rest != "" {
		switch {
		case rest[0] == '!':
			if t.Explode {
				return t, bad("%q explodes twice", plugin.Clip(w, 16))
			}
			if t.Sides < 2 {
				return t, bad("a d%d cannot explode", t.Sides)
			}
			t.Explode, rest = true, rest[1:]
		default:
			kind, n := 0, 0
			for _, m := range []struct {
				p    string
				kind int
			}{{"kh", KeepHighest}, {"kl", KeepLowest}, {"dh", DropHighest}, {"dl", DropLowest}, {"k", KeepHighest}} {
				if strings.HasPrefix(rest, m.p) {
					kind, rest = m.kind, rest[len(m.p):]
					break
				}
			}
			if kind == 0 {
				return t, bad("I don't understand %q in %q", plugin.Clip(rest, 16), plugin.Clip(w, 16))
			}
			if t.Keep != KeepAll {
				return t, bad("%q keeps or drops twice", plugin.Clip(w, 16))
			}
			before := rest
			n, rest, err = number(rest)
			if err != nil {
				return t, err
			}
			if rest == before {
				n = 1 // "4d6kh" keeps one, like most dice bots
			}
			switch {
			case (kind == KeepHighest || kind == KeepLowest) && (n < 1 || n > t.Count):
				return t, bad("can only keep 1 to %d of %d dice", t.Count, t.Count)
			case (kind == DropHighest || kind == DropLowest) && (n < 1 || n >= t.Count):
				if t.Count == 1 {
					return t, bad("cannot drop the only die")
				}
				return t, bad("can only drop 1 to %d of %d dice", t.Count-1, t.Count)
			}
			t.Keep, t.N = kind, n
		}
	}
	return t, nil
}

// number reads leading decimal digits; with none it returns 0 and s as is.
func number(s string) (int, string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, nil
	}
	if i > 7 {
		return 0, s, bad("%s is too big a number", plugin.Clip(s[:i], 16))
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil {
		return 0, s, bad("%s is not a number", plugin.Clip(s[:i], 16))
	}
	return n, s[i:], nil
}

// kept is how many dice of n rolled a term keeps.
func (t Term) kept(n int) int {
	switch t.Keep {
	case KeepHighest, KeepLowest:
		return min(t.N, n)
	case DropHighest, DropLowest:
		return max(n-t.N, 0)
	}
	return n
}

// Bounds returns the smallest and largest totals the expression can roll
// within its explosion limit.
func (e Expr) Bounds() (lo, hi int) {
	for _, t := range e.Terms {
		tlo, thi := t.Constant, t.Constant
		if t.Sides > 0 {
			tlo = t.kept(t.Count)
			n := t.Count
			if t.Explode {
				n += e.limits.MaxExplosions
			}
			thi = t.kept(n) * t.Sides
		}
		if t.Sign < 0 {
			tlo, thi = -thi, -tlo
		}
		lo, hi = lo+tlo, hi+thi
	}
	return lo, hi
}
