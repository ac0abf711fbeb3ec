package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/plugin"
)

// TestAddAndAnnounce runs the whole bot in a channel of the fake CyTube
// server with the plugin: a user's !add queues the link and gets CyTube's
// outcome; an item another user adds is announced.
func TestAddAndAnnounce(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddMedia(cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never Gonna Give You Up", Seconds: 212})
	srv.AddMedia(cytubetest.Media{Type: "vi", ID: "76979871", Title: "The New Vimeo Player", Seconds: 62})
	srv.Join("lounge", "alice", 1)

	cfg := rosey.Config{
		CyTube:  cytube.Config{Server: srv.URL, Channel: "lounge", User: "RoseyBot", BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond},
		Plugins: []plugin.Plugin{&playlist{}},
	}
	cfg.Database.Dir = t.TempDir()
	cfg.NATS.Embedded.NoListen = true
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	is.NoErr(srv.WaitUser(ctx, "lounge", "RoseyBot"))
	said := func(want string) cytubetest.Message {
		t.Helper()
		m, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool {
			return m.From == "RoseyBot" && strings.Contains(cytube.PlainText(m.HTML), want)
		})
		if err != nil {
			t.Fatalf("the bot never said %q: %v", want, err)
		}
		return m
	}

	for { // the plugin is known to the router once the directory has it
		if _, ok := bot.Plugins().Directory().Get("song-requests"); ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the plugin never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Say("lounge", "alice", "!request https://www.youtube.com/watch?v=dQw4w9WgXcQ")
	said("🎵 Added “Never Gonna Give You Up” (#1 of 1)")
	items, _ := srv.Playlist("lounge")
	is.Equal(len(items), 1)
	is.Equal(items[0].QueuedBy, "RoseyBot")

	srv.Say("lounge", "alice", "!request https://youtu.be/dQw4w9WgXcQ")
	said("❌ CyTube says: This item is already on the playlist")
	srv.Say("lounge", "alice", "!request https://www.youtube.com/watch")
	said("❌ That is not a link I can queue: invalid media link: yt: YouTube link without v=")
	srv.Say("lounge", "alice", "!request https://example.com/movie.mp4") // a raw file: nobody may, unregistered
	said("⛔ I may not do that here: nobody may add raw files in channel lounge")

	srv.Queue("lounge", "alice", cytubetest.Media{Type: "vi", ID: "76979871", Title: "The New Vimeo Player", Seconds: 62}, false)
	said("🎶 New on the playlist: “The New Vimeo Player” (1:02), added by alice")
	for _, m := range srv.Messages() {
		is.True(!strings.Contains(m.HTML, "New on the playlist: “Never")) // the bot's own addition is not announced
	}
}
