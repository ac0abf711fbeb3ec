package playlist_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the bot's own SQLite driver, to reach its file

	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/plugins/playlist"
	"github.com/roseybot/rosey/roseytest"
)

// failWrites makes the bot's database (in dir) refuse one kind of write
// (op: INSERT, UPDATE or DELETE) to one of the playlist plugin's
// collections, as a full disk would, until the returned function is
// called: a trigger in the real SQLite file aborts the statement.
func failWrites(t *testing.T, dir, op, collection string) (undo func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, dbservice.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	name := "fail_" + op + "_" + collection
	row := "new"
	if op == "DELETE" {
		row = "old"
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON rosey_documents WHEN %s.collection = '%s/%s'
		BEGIN SELECT RAISE(ABORT, 'test: the disk is full'); END`, name, op, row, playlist.Name, collection)); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := db.ExecContext(ctx, "DROP TRIGGER "+name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnblacklistWriteFails: when the database cannot take a link off the
// blacklist, !unblacklist says so and the link stays blacklisted, now and
// after a restart; once the database works again it comes off.
func TestUnblacklistWriteFails(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	first := start(t, srv, clock, dir, nil)
	first.Say("mod", "!blacklist "+link(charlie))
	first.Expect("🚫 “yt:charlie0003” is on this channel's blacklist now.")

	undo := failWrites(t, dir, "DELETE", playlist.BlacklistCollection)
	first.Say("mod", "!unblacklist "+link(charlie))
	first.Expect("⚠️ Something went wrong in !unblacklist.")
	first.Say("bob", "!add "+link(charlie))
	first.Expect("⛔ That media is on this channel's blacklist.")
	first.Stop()

	second := start(t, srv, clock, dir, nil)
	clock.Advance(3 * time.Second)
	second.Say("bob", "!add "+link(charlie))
	second.Expect("⛔ That media is on this channel's blacklist.")
	undo()
	second.Say("mod", "!unblacklist "+link(charlie))
	second.Expect("✅ “yt:charlie0003” is off this channel's blacklist.")
	clock.Advance(3 * time.Second)
	second.Say("bob", "!add "+link(charlie))
	second.Expect("✅ Queued “Charlie”")
}

// TestLikeCountWriteFails: when the database saves a like but not the
// media's count, !like says so, and the count is put right by the next
// vote on that media, even the same user's "already".
func TestLikeCountWriteFails(t *testing.T) {
	srv := newServer(t)
	clock := roseytest.NewClock(epoch)
	dir := t.TempDir()
	ch := start(t, srv, clock, dir, nil)
	srv.Queue(ch.Name, "owner", alpha, false)
	ch.Eventually("record Alpha's play", func() bool { return len(plays(t, ch)) == 1 })

	undoUpdate := failWrites(t, dir, "UPDATE", playlist.MediaCollection)
	undoInsert := failWrites(t, dir, "INSERT", playlist.MediaCollection)
	ch.Say("alice", "!like")
	ch.Expect("⚠️ Something went wrong in !like.")
	undoUpdate()
	undoInsert()

	clock.Advance(2 * time.Second) // the !like cooldown
	ch.Say("alice", "!like")
	ch.Expect("👍 You like “Alpha” already.")
	ch.Say("carol", "!liked")
	ch.Expect("❤️ Most liked here: 1. “Alpha” (1 👍 0 👎)")
	ch.Say("bob", "!like")
	ch.Expect("👍 bob likes “Alpha” (2 👍 0 👎).")
	ch.Say("carol", "!dislike")
	ch.Expect("👎 carol dislikes “Alpha” (2 👍 1 👎).")
}
