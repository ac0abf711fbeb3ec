package quotedb_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/quotedb"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

func newHarness(t *testing.T, opts ...roseytest.Option) *roseytest.Harness {
	p := quotedb.New(quotedb.Config{Rand: rand.New(rand.NewPCG(1, 2))})
	return roseytest.New(t, append([]roseytest.Option{roseytest.WithPlugins(p)}, opts...)...)
}

func TestAddAndShow(t *testing.T) {
	h := newHarness(t)
	h.Say("alice", "!quote add Hello!")
	h.Expect("✅ Added quote #1")
	h.Say("alice", "!quote add 'To be or not to be' — Shakespeare")
	h.Expect("✅ Added quote #2")
	h.Say("bob", "!quote add I'm a dash--inside -- bob")
	h.Expect("✅ Added quote #3")

	h.Say("carol", "!quote 1")
	h.Expect("Quote #1: 'Hello!' - alice")
	h.Say("carol", "!quote #2")
	h.Expect("Quote #2: 'To be or not to be' - Shakespeare")
	h.Say("carol", "!quote 3")
	h.Expect("Quote #3: 'I'm a dash--inside' - bob")
	h.Say("carol", "!quote 99")
	h.Expect("❌ There is no quote #99.")
	h.Say("carol", "!quote count")
	h.Expect("📚 There are 3 quotes.")
	h.ExpectNone()
}

func TestRandom(t *testing.T) {
	is := is.New(t)
	h := newHarness(t)
	h.Say("alice", "!quote random")
	h.Expect("📭 No quotes yet")
	h.Say("alice", "!quote add one")
	h.Expect("#1")
	h.Say("alice", "!quote add two")
	h.Expect("#2")
	seen := map[string]bool{}
	for range 20 {
		h.Say("bob", "!quote")
		seen[h.Expect("Quote #").Message] = true
	}
	is.True(seen["Quote #1: 'one' - alice"])
	is.True(seen["Quote #2: 'two' - alice"])
	is.Equal(len(seen), 2)
	h.Say("bob", "!quote random")
	h.Expect("Quote #")
}

func TestSearch(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"The cake is a lie", "Cake or death?", "100% pure_fun"} {
		h.Say("alice", "!quote add "+q)
		h.Expect("✅ Added")
	}
	h.Say("bob", "!quote search cake")
	h.Expect("🔎 2 quotes match: #2, #1. Newest: Quote #2: 'Cake or death?' - alice")
	h.Say("bob", "!quote search LIE cake")
	h.Expect("Quote #1: 'The cake is a lie' - alice")
	h.Say("bob", "!quote search 100%")
	h.Expect("Quote #3")
	h.Say("bob", "!quote search e_f")
	h.Expect("Quote #3")
	h.Say("bob", "!quote search pie")
	h.Expect(`🔎 No quote contains "pie".`)
	h.Say("bob", "!quote search")
	h.Expect("❌ Usage: !quote search <words>")
}

func TestDeletePermissions(t *testing.T) {
	h := newHarness(t)
	h.Say("alice", "!quote add mine")
	h.Expect("#1")
	h.Say("alice", "!quote add also mine")
	h.Expect("#2")

	h.Say("bob", "!quote del 1")
	h.Expect("⛔ Only a moderator or alice")
	h.Say("Alice", "!quote del 1")
	h.Expect("🗑️ Deleted quote #1")
	h.Say("bob", "!quote 1")
	h.Expect("❌ There is no quote #1.")

	h.SetRank("mod", protocol.RankModerator)
	h.Say("mod", "!quote del #2")
	h.Expect("🗑️ Deleted quote #2")
	h.Say("mod", "!quote del 2")
	h.Expect("❌ There is no quote #2.")
	h.Say("mod", "!quote del x")
	h.Expect("❌ Usage: !quote del <id>")
	h.Say("mod", "!quote count")
	h.Expect("📚 There are 0 quotes.")
}

func TestBadArguments(t *testing.T) {
	h := newHarness(t, roseytest.WithPluginConfig("quote-db", map[string]any{"max_length": 10}))
	for _, line := range []string{"!quote add", "!quote add   ", "!quote add -- bob", "!quote add ''"} {
		h.Say("alice", line)
		h.Expect("❌ Usage: !quote add <text> [— author]")
	}
	h.Say("alice", "!quote add this is far too long")
	h.Expect("❌ That quote is too long (at most 10 characters).")
	h.Say("alice", "!quote frobnicate")
	h.Expect("❌ Usage: !quote ")
	h.Say("alice", "!quote -3")
	h.Expect("❌ Usage: !quote ")
	h.Say("alice", "!quote count now")
	h.Expect("❌ Usage: !quote ")
	h.PM("alice", "!quote add /kick everyone")
	h.ExpectPM("alice", "too long")
	h.PM("alice", "!quote add /me")
	h.ExpectPM("alice", "✅ Added quote #1")
	h.Say("bob", "!quote 1")
	h.Expect("Quote #1: '/me' - alice")
	h.ExpectNone()
}

func TestQuotesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	withDir := roseytest.WithConfig(func(c *rosey.Config) { c.Database.Dir = dir })
	t.Run("first", func(t *testing.T) {
		h := newHarness(t, withDir)
		h.Say("alice", "!quote add remember me -- ghost")
		h.Expect("✅ Added quote #1")
	})
	h := newHarness(t, withDir)
	h.Say("bob", "!quote 1")
	h.Expect("Quote #1: 'remember me' - ghost")
	h.Say("bob", "!quote add next")
	h.Expect("✅ Added quote #2")
}

// TestManyUsersAtOnce: users who each add a quote and at once search for
// it, all together, find their own quote (the plugin serves them side by
// side, each user's commands in order), and every add gets an id of its
// own.
func TestManyUsersAtOnce(t *testing.T) {
	is := is.New(t)
	h := newHarness(t)
	const users = 20
	for u := range users {
		name := fmt.Sprintf("user%02d", u)
		h.Say(name, fmt.Sprintf("!quote add word%02dx", u))
		h.Say(name, fmt.Sprintf("!quote search word%02dx", u))
	}
	ids, found := map[string]bool{}, map[string]bool{}
	for range 2 * users {
		m := h.Next().Message
		switch {
		case strings.HasPrefix(m, "✅ Added quote #"):
			ids[m] = true
		case strings.HasPrefix(m, "Quote #"):
			found[m[strings.Index(m, "'"):]] = true
		default:
			t.Fatalf("unexpected answer %q", m)
		}
	}
	is.Equal(len(ids), users)
	for u := range users {
		is.True(found[fmt.Sprintf("'word%02dx' - user%02d", u, u)])
	}
}
