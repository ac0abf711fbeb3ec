package rosey_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugins/builtin"
	"github.com/roseybot/rosey/protocol"
)

// TestCyTubeChannelThroughConfigFile runs the whole bot, configured by a
// file as `rosey run -config` would be, in a channel of the fake CyTube
// server: another user's command goes through connector, router and plugin
// and the answer comes back in the channel; PMs are answered by PM; the
// replayed history is not executed; after the server drops every
// connection, one command still gets exactly one answer.
func TestCyTubeChannelThroughConfigFile(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join("lounge", "alice", 1)
	srv.Say("lounge", "alice", "!8ball is this history?")

	dir := t.TempDir()
	file := filepath.Join(dir, "rosey.json")
	is.NoErr(os.WriteFile(file, []byte(`{
		"cytube": {"server": "`+srv.URL+`", "channel": "lounge", "user": "RoseyBot", "backoff_min": "20ms", "connect_interval": "20ms"},
		"database": {"dir": "`+filepath.ToSlash(dir)+`"}
	}`), 0o600))
	cfg, err := rosey.LoadConfig(file)
	is.NoErr(err)
	cfg.NATS.Embedded.NoListen = true
	cfg.Plugins = builtin.All()
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	is.NoErr(srv.WaitUser(ctx, "lounge", "RoseyBot"))
	fromBot := func(want string) func(cytubetest.Message) bool {
		return func(m cytubetest.Message) bool { return m.From == "RoseyBot" && strings.Contains(m.HTML, want) }
	}

	srv.Say("lounge", "alice", "!roll 2d6")
	m, err := srv.WaitMessage(ctx, fromBot("Rolled 2d6"))
	is.NoErr(err)
	is.Equal(m.To, "") // in the channel

	is.NoErr(srv.PM("lounge", "alice", "RoseyBot", "!roll d4"))
	m, err = srv.WaitMessage(ctx, fromBot("Rolled d4"))
	is.NoErr(err)
	is.Equal(m.To, "alice") // by PM

	// Reconnect, then exactly one answer per command.
	states := make(chan string, 16)
	_, err = bot.Bus().Subscribe(protocol.Connection, func(_ context.Context, ev *eventbus.Event) {
		var c protocol.ConnectionEvent
		if ev.Decode(&c) == nil {
			states <- c.State
		}
	})
	is.NoErr(err)
	is.NoErr(bot.Bus().Flush(ctx))
	srv.DropAll()
	for dropped := false; ; {
		var s string
		select {
		case s = <-states:
		case <-ctx.Done():
			t.Fatal("the bot did not reconnect")
		}
		if dropped && s == protocol.StateConnected {
			break
		}
		dropped = dropped || s != protocol.StateConnected
	}
	srv.Say("lounge", "alice", "!roll 1d6")
	_, err = srv.WaitMessage(ctx, fromBot("Rolled 1d6"))
	is.NoErr(err)
	srv.Say("lounge", "alice", "!flip")
	_, err = srv.WaitMessage(ctx, fromBot("🪙"))
	is.NoErr(err)
	count := map[string]int{}
	for _, m := range srv.Messages() {
		if m.From != "RoseyBot" {
			continue
		}
		for _, k := range []string{"Rolled 1d6", "Rolled 2d6", "🎱"} {
			if strings.Contains(m.HTML, k) {
				count[k]++
			}
		}
	}
	is.Equal(count["Rolled 2d6"], 1)
	is.Equal(count["Rolled 1d6"], 1)
	is.Equal(count["🎱"], 0) // the history line was never executed
}
