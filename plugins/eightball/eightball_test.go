package eightball_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/roseybot/rosey/plugins/eightball"
	"github.com/roseybot/rosey/roseytest"
)

func TestAnswersEveryClassicAnswer(t *testing.T) {
	var next atomic.Int64
	p := eightball.New(eightball.Config{Cooldown: -1, Rand: func(n int) int { return int(next.Add(1)-1) % n }})
	h := roseytest.New(t, roseytest.WithPlugins(p))
	for _, a := range eightball.Answers() {
		h.Say("alice", "!8ball will it rain?")
		h.Expect("🎱 " + a)
	}
	h.ExpectNone()
}

func TestQuestionRequired(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(eightball.New(eightball.Config{})))
	h.Say("alice", "!8ball")
	h.Expect("❌ Usage: !8ball <question>")
	h.PM("bob", "!eightball")
	h.ExpectPM("bob", "❌ Usage: !8ball <question>")
}

func TestCooldownPerUser(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(eightball.New(eightball.Config{Cooldown: time.Hour, Rand: func(int) int { return 8 }})))
	h.Say("alice", "!8b shall we?")
	h.Expect("🎱 Yes.")
	h.Say("alice", "!8b really?")
	h.Expect("⏳ alice, wait")
	h.Say("bob", "!8ball and me?")
	h.Expect("🎱 Yes.")
}
