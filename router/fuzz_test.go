package router_test

import (
	"testing"

	"github.com/roseybot/rosey/router"
)

// FuzzRouterLine says arbitrary lines through a real router: nothing
// crashes, and no line gets more than one answer.
func FuzzRouterLine(f *testing.F) {
	for _, seed := range []string{"!echo hi", "!", "!!!", "!ECHO \xff", "plain chat", "!nope x y", "!say\x00"} {
		f.Add(seed)
	}
	r := newRig(f, router.Config{UnknownCommand: "no {command}", HintEvery: 1}, echo{})
	f.Fuzz(func(t *testing.T, line string) {
		r.t = t
		defer func() { r.t = f }()
		r.say("fuzzer", line)
		if got := r.drain(); len(got) > 1 {
			t.Fatalf("%q got %d answers: %v", line, len(got), got)
		}
	})
}
