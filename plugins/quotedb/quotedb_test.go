package quotedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/database"
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

// quotes returns a client of the plugin's collection, to arrange what
// commands cannot (ids far apart, ids that are strings).
func quotes(h *roseytest.Harness) (context.Context, *database.Client) {
	return context.Background(), h.DB().Namespace(quotedb.Name)
}

// TestRandomSkipsDeletedQuotes: a random quote is always one that is
// there, whichever were deleted (the highest id among them), each of the
// rest about equally often; with none left the collection is empty again.
func TestRandomSkipsDeletedQuotes(t *testing.T) {
	is := is.New(t)
	h := newHarness(t)
	for i := 1; i <= 10; i++ {
		h.Say("alice", fmt.Sprintf("!quote add q%d", i))
		h.Expect(fmt.Sprintf("✅ Added quote #%d", i))
	}
	for _, id := range []int{2, 4, 6, 8, 10} {
		h.Say("alice", fmt.Sprintf("!quote del %d", id))
		h.Expect(fmt.Sprintf("🗑️ Deleted quote #%d", id))
	}
	const draws = 500
	seen := map[string]int{}
	for range draws {
		h.Say("bob", "!quote")
		seen[h.Next().Message]++
	}
	is.Equal(len(seen), 5)
	for _, id := range []int{1, 3, 5, 7, 9} {
		n := seen[fmt.Sprintf("Quote #%d: 'q%d' - alice", id, id)]
		// 100 expected; ±40 is more than four standard deviations.
		if n < 60 || n > 140 {
			t.Errorf("quote #%d drawn %d times in %d, want about %d: %v", id, n, draws, draws/5, seen)
		}
	}
	for _, id := range []int{1, 3, 5, 7, 9} {
		h.Say("alice", fmt.Sprintf("!quote del %d", id))
		h.Expect("🗑️ Deleted")
	}
	h.Say("bob", "!quote")
	h.Expect("📭 No quotes yet. Add one with !quote add <text>")
	h.Say("bob", "!quote random")
	h.Expect("📭 No quotes yet.")
	// ids go on from the highest ever assigned
	h.Say("alice", "!quote add again")
	h.Expect("✅ Added quote #11")
	h.Say("bob", "!quote")
	h.Expect("Quote #11: 'again' - alice")
}

// TestRandomEmpty: an empty collection, and one whose only quote was
// deleted, have no random quote.
func TestRandomEmpty(t *testing.T) {
	h := newHarness(t)
	h.Say("bob", "!quote")
	h.Expect("📭 No quotes yet. Add one with !quote add <text>")
	h.Say("alice", "!quote add only")
	h.Expect("✅ Added quote #1")
	h.Say("bob", "!quote")
	h.Expect("Quote #1: 'only' - alice")
	h.Say("alice", "!quote del 1")
	h.Expect("🗑️ Deleted quote #1")
	h.Say("bob", "!quote")
	h.Expect("📭 No quotes yet.")
	h.ExpectNone()
}

// TestRandomSparse: when almost every id up to the highest is free, random
// ids keep missing and the pick falls back to a count and an offset; it
// still finds each quote. A collection whose ids are strings (written by
// another tool) is served the same way.
func TestRandomSparse(t *testing.T) {
	is := is.New(t)
	h := newHarness(t)
	ctx, db := quotes(h)
	h.Say("alice", "!quote add first")
	h.Expect("✅ Added quote #1")
	_, err := db.Set(ctx, quotedb.DefaultCollection, database.IntID(1_000_000), quotedb.Quote{Text: "far", Author: "bob"})
	is.NoErr(err)
	seen := map[string]bool{}
	for range 40 {
		h.Say("carol", "!quote")
		seen[h.Next().Message] = true
	}
	is.Equal(seen, map[string]bool{"Quote #1: 'first' - alice": true, "Quote #1000000: 'far' - bob": true})

	h2 := newHarness(t)
	ctx, db = quotes(h2)
	_, err = db.Set(ctx, quotedb.DefaultCollection, database.StringID("legacy"), quotedb.Quote{Text: "old", Author: "dave"})
	is.NoErr(err)
	h2.Say("carol", "!quote")
	h2.Expect("Quote #legacy: 'old' - dave")
}

// TestRandomWhileAdding: users add quotes while others ask for random ones,
// all at once; every random quote shown is one that was added, shown as
// !quote <id> shows it.
func TestRandomWhileAdding(t *testing.T) {
	is := is.New(t)
	h := newHarness(t)
	const users = 20
	for u := range users {
		h.Say(fmt.Sprintf("adder%02d", u), fmt.Sprintf("!quote add word%02d", u))
		h.Say(fmt.Sprintf("asker%02d", u), "!quote")
	}
	var shown []string
	added := 0
	for range 2 * users {
		m := h.Next().Message
		switch {
		case strings.HasPrefix(m, "✅ Added quote #"):
			added++
		case strings.HasPrefix(m, "Quote #"):
			shown = append(shown, m)
		case strings.HasPrefix(m, "📭 No quotes yet."):
		default:
			t.Fatalf("unexpected answer %q", m)
		}
	}
	is.Equal(added, users)
	for _, m := range shown {
		id := m[len("Quote #"):strings.Index(m, ":")]
		h.Say("checker", "!quote "+id)
		is.Equal(h.Next().Message, m)
	}
}
