package cytubetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/cytubetest"
)

// waitEvent reads c's events until one named name arrives.
func waitEvent(ctx context.Context, t *testing.T, c *cytubetest.Client, name string) cytubetest.ClientEvent {
	t.Helper()
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if ev.Name == name {
			return ev
		}
	}
}

// A client sending a settings event without the rank is kicked, as
// CyTube does; playlist events without the rank are ignored.
func TestAdminEventWithoutRankKicks(t *testing.T) {
	for _, ev := range []string{"setMotd", "assignLeader", "setOptions", "setPermissions"} {
		t.Run(ev, func(t *testing.T) {
			is := is.New(t)
			srv := cytubetest.NewServer(cytubetest.Fast())
			defer srv.Close()
			srv.AddChannel("lobby", cytubetest.ChannelConfig{Registered: true})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := srv.Dial(ctx, "lobby", "guest")
			is.NoErr(err)
			defer c.Close()
			is.NoErr(c.Emit("delete", 1)) // ignored: no kick
			is.NoErr(c.Emit(ev, map[string]any{"motd": "x", "name": "guest"}))
			kick := waitEvent(ctx, t, c, "kick")
			var k struct {
				Reason string `json:"reason"`
			}
			is.NoErr(json.Unmarshal(kick.Args[0], &k))
			is.True(k.Reason != "")
			for {
				if _, err := c.Next(ctx); err != nil {
					is.True(errors.Is(err, cytubetest.ErrClientClosed))
					break
				}
			}
			is.Equal(srv.Stats().Kicks, 1)
		})
	}
}

// Each channel has its own playlist, users and options.
func TestSeveralChannels(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddChannel("one", cytubetest.ChannelConfig{MOTD: "first"})
	srv.AddChannel("two", cytubetest.ChannelConfig{MOTD: "second", Registered: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := srv.Dial(ctx, "one", "alice")
	is.NoErr(err)
	defer a.Close()
	b, err := srv.Dial(ctx, "two", "bob")
	is.NoErr(err)
	defer b.Close()
	is.NoErr(a.Emit("queue", map[string]any{"id": "https://example.com/a.m3u8", "type": "hl", "pos": "end"}))
	waitEvent(ctx, t, a, "queue")
	one, _ := srv.Playlist("one")
	two, _ := srv.Playlist("two")
	is.Equal(len(one), 1)
	is.Equal(len(two), 0)
	// bob, a guest in a registered channel, may not add to its locked playlist.
	is.NoErr(b.Emit("queue", map[string]any{"id": "https://example.com/b.m3u8", "type": "hl", "pos": "end"}))
	is.NoErr(b.Chat("marker"))
	waitEvent(ctx, t, b, "chatMsg")
	two, _ = srv.Playlist("two")
	is.Equal(len(two), 0)
	is.Equal(srv.MOTD("one"), "first")
	is.Equal(srv.MOTD("two"), "second")
	is.Equal(len(srv.Users("one")), 1)
	is.Equal(len(srv.Users("two")), 1)
}

// Voteskip passes at max(1, ceil(eligible × ratio)); AFK users are not
// eligible.
func TestVoteskipThreshold(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	for _, u := range []string{"a", "b", "c", "d"} {
		srv.Join("lobby", u, 0)
	}
	srv.SetAFK("lobby", "d", true)
	first := srv.Queue("lobby", "a", cytubetest.Media{Type: "hl", ID: "https://example.com/1.m3u8", Title: "1"}, false)
	second := srv.Queue("lobby", "a", cytubetest.Media{Type: "hl", ID: "https://example.com/2.m3u8", Title: "2"}, false)
	srv.Voteskip("lobby", "a")
	_, cur := srv.Playlist("lobby")
	is.Equal(cur, first) // 1 of ceil(3 × 0.5) = 2
	srv.Voteskip("lobby", "a")
	_, cur = srv.Playlist("lobby")
	is.Equal(cur, first) // one vote per voter
	srv.Voteskip("lobby", "b")
	_, cur = srv.Playlist("lobby")
	is.Equal(cur, second)
}

// playNext with a single item plays it again from the start, as CyTube's
// _playNext does (the item after the last is the first); a single
// temporary item is deleted instead, and nothing plays.
func TestPlayNextOfTheOnlyItem(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.Dial(ctx, "lobby", "alice")
	is.NoErr(err)
	defer c.Close()
	uid := srv.Queue("lobby", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/a.m3u8", Title: "A"}, false)
	waitEvent(ctx, t, c, "changeMedia")

	is.NoErr(c.Emit("playNext", nil))
	cur := waitEvent(ctx, t, c, "setCurrent")
	is.Equal(string(cur.Args[0]), fmt.Sprint(uid))
	media := waitEvent(ctx, t, c, "changeMedia")
	var m struct {
		Title string `json:"title"`
	}
	is.NoErr(json.Unmarshal(media.Args[0], &m))
	is.Equal(m.Title, "A")
	items, playing := srv.Playlist("lobby")
	is.Equal(len(items), 1)
	is.Equal(playing, uid)

	srv.EndMedia("lobby") // its time running out does the same
	cur = waitEvent(ctx, t, c, "setCurrent")
	is.Equal(string(cur.Args[0]), fmt.Sprint(uid))

	is.NoErr(c.Emit("setTemp", map[string]any{"uid": uid, "temp": true}))
	waitEvent(ctx, t, c, "setTemp")
	is.NoErr(c.Emit("playNext", nil))
	waitEvent(ctx, t, c, "delete")
	items, playing = srv.Playlist("lobby")
	is.Equal(len(items), 0)
	is.Equal(playing, -1)
}

// Deleting the item playing plays the one after it (the first after the
// last), as CyTube's _delete does.
func TestDeleteTheItemPlaying(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.Dial(ctx, "lobby", "alice")
	is.NoErr(err)
	defer c.Close()
	var uids []int
	for _, n := range []string{"a", "b", "c"} {
		uids = append(uids, srv.Queue("lobby", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/" + n + ".m3u8", Title: n}, false))
	}
	srv.EndMedia("lobby") // b plays
	_, playing := srv.Playlist("lobby")
	is.Equal(playing, uids[1])

	is.NoErr(c.Emit("delete", uids[1]))
	waitEvent(ctx, t, c, "delete")
	cur := waitEvent(ctx, t, c, "setCurrent")
	is.Equal(string(cur.Args[0]), fmt.Sprint(uids[2]))
	is.NoErr(c.Emit("delete", uids[2])) // the last: the first plays
	waitEvent(ctx, t, c, "delete")
	cur = waitEvent(ctx, t, c, "setCurrent")
	is.Equal(string(cur.Args[0]), fmt.Sprint(uids[0]))
}

// Shuffling keeps the item playing first, still playing (under a new
// uid, as every item gets one), as CyTube's handleShuffle does: its
// startPlayback(currentTime) sends setCurrent with the new uid and
// changeMedia resumed where it was, not at the lead-in.
func TestShuffleKeepsThePlayingItemFirst(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.Dial(ctx, "lobby", "alice")
	is.NoErr(err)
	defer c.Close()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		srv.Queue("lobby", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/" + n + ".m3u8", Title: n}, false)
	}
	srv.EndMedia("lobby") // b plays
	srv.MediaUpdate("lobby", 42, false)
	_, before := srv.Playlist("lobby")
	// A shuffle that moved it would show within a few.
	for i := 0; i < 10; i++ {
		is.NoErr(c.Emit("shufflePlaylist", nil))
		for { // the shuffled playlist, not the join's
			var pl []json.RawMessage
			if ev := waitEvent(ctx, t, c, "playlist"); json.Unmarshal(ev.Args[0], &pl) == nil && len(pl) == 5 {
				break
			}
		}
		cur := waitEvent(ctx, t, c, "setCurrent")
		items, playing := srv.Playlist("lobby")
		is.Equal(len(items), 5)
		is.Equal(items[0].Media.Title, "b")
		is.Equal(playing, items[0].UID)
		is.Equal(string(cur.Args[0]), fmt.Sprint(playing))
		is.True(playing != before) // a new uid
		before = playing
		var m struct {
			Title       string  `json:"title"`
			CurrentTime float64 `json:"currentTime"`
			Paused      bool    `json:"paused"`
		}
		is.NoErr(json.Unmarshal(waitEvent(ctx, t, c, "changeMedia").Args[0], &m))
		is.Equal(m.Title, "b")
		is.Equal(m.CurrentTime, 42.0) // resumed
		is.True(!m.Paused)
	}
}
