package dice

import (
	"slices"
	"strconv"
	"strings"
)

// Die is one rolled die.
type Die struct {
	Value int
	// Dropped dice do not count towards the total.
	Dropped bool
	// Exploded dice showed their highest face and added another die.
	Exploded bool
}

// TermResult is the outcome of one term.
type TermResult struct {
	Term Term
	// Dice in the order rolled (dice added by explosions follow the die
	// that exploded). Empty for a constant.
	Dice []Die
	// Value is the term's contribution to the total, sign included.
	Value int
}

// Result is the outcome of rolling an expression.
type Result struct {
	Expr  Expr
	Terms []TermResult
	Total int
	// Explosions counts the dice added by explosions.
	Explosions int
	// Capped is true when the explosion limit stopped further explosions.
	Capped bool
}

// Roll rolls e. intn(n) must return a uniformly random int in [0, n).
func (e Expr) Roll(intn func(n int) int) Result {
	r := Result{Expr: e}
	budget := e.limits.MaxExplosions
	for _, t := range e.Terms {
		tr := TermResult{Term: t}
		if t.Sides == 0 {
			tr.Value = t.Sign * t.Constant
			r.Terms = append(r.Terms, tr)
			r.Total += tr.Value
			continue
		}
		for range t.Count {
			v := 1 + intn(t.Sides)
			tr.Dice = append(tr.Dice, Die{Value: v})
			for t.Explode && v == t.Sides {
				if budget == 0 {
					r.Capped = true
					break
				}
				budget--
				r.Explosions++
				tr.Dice[len(tr.Dice)-1].Exploded = true
				v = 1 + intn(t.Sides)
				tr.Dice = append(tr.Dice, Die{Value: v})
			}
		}
		markDropped(t, tr.Dice)
		for _, d := range tr.Dice {
			if !d.Dropped {
				tr.Value += d.Value
			}
		}
		tr.Value *= t.Sign
		r.Terms = append(r.Terms, tr)
		r.Total += tr.Value
	}
	return r
}

// markDropped marks the dice the term's keep/drop rule leaves out. Among
// equal values the later die is dropped first, so the display is stable.
func markDropped(t Term, dice []Die) {
	if t.Keep == KeepAll {
		return
	}
	order := make([]int, len(dice))
	for i := range order {
		order[i] = i
	}
	// order: lowest value first; ties, later die first.
	slices.SortStableFunc(order, func(a, b int) int {
		if dice[a].Value != dice[b].Value {
			return dice[a].Value - dice[b].Value
		}
		return b - a
	})
	drop := len(dice) - t.kept(len(dice))
	var victims []int
	switch t.Keep {
	case KeepHighest, DropLowest:
		victims = order[:drop]
	case KeepLowest, DropHighest:
		slices.Reverse(order)
		victims = order[:drop]
	}
	for _, i := range victims {
		dice[i].Dropped = true
	}
}

// maxListed bounds the rendered length (in bytes) of a reply that lists
// every die; a longer one shows each term's sum instead, so one roll stays
// one chat line (CyTube allows 320 characters).
const maxListed = 280

// String renders the result for chat: "2d6: [3, 5] = 8". Dropped dice are
// in parentheses, "(1)"; a die that exploded is followed by "!", "6!".
// CyTube turns *x*, _x_ and ~~x~~ into markup, so those are avoided.
func (r Result) String() string {
	if s := r.render(true); len(s) <= maxListed {
		return s
	}
	return r.render(false)
}

func (r Result) render(list bool) string {
	var b strings.Builder
	b.WriteString(r.Expr.Text)
	b.WriteString(": ")
	for i, t := range r.Terms {
		switch {
		case i > 0 && t.Term.Sign < 0:
			b.WriteString(" - ")
		case i > 0:
			b.WriteString(" + ")
		case t.Term.Sign < 0:
			b.WriteString("-")
		}
		if t.Term.Sides == 0 {
			b.WriteString(strconv.Itoa(t.Term.Constant))
			continue
		}
		if !list {
			// Too many to list: show each term's sum instead.
			b.WriteString("[" + strconv.Itoa(len(t.Dice)) + " dice: " + strconv.Itoa(t.Value*t.Term.Sign) + "]")
			continue
		}
		b.WriteByte('[')
		for j, d := range t.Dice {
			if j > 0 {
				b.WriteString(", ")
			}
			s := strconv.Itoa(d.Value)
			if d.Exploded {
				s += "!"
			}
			if d.Dropped {
				s = "(" + s + ")"
			}
			b.WriteString(s)
		}
		b.WriteByte(']')
	}
	b.WriteString(" = ")
	b.WriteString(strconv.Itoa(r.Total))
	if r.Capped {
		b.WriteString(" (explosions capped at " + strconv.Itoa(r.Expr.limits.MaxExplosions) + ")")
	}
	return b.String()
}
