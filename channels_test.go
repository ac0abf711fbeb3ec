package rosey_test

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
	"github.com/roseybot/rosey/router"
)

// herald answers !echo, and !shout says its text with Host.Say (no
// channel) and with Host.SayIn the command's channel.
type herald struct{}

func (herald) Info() plugin.Info {
	return plugin.Info{Name: "herald", Version: "1.0.0", Commands: []plugin.Command{{Name: "echo"}, {Name: "shout"}}}
}

func (herald) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("echo", func(_ context.Context, r *plugin.Request) (string, error) {
		return "echo " + r.Text + " in " + r.Channel, nil
	})
	h.Handle("shout", func(ctx context.Context, r *plugin.Request) (string, error) {
		if err := h.Say(ctx, "📣 everyone: "+r.Text); err != nil {
			return "", err
		}
		return "", h.SayIn(ctx, r.Channel, "📣 here: "+r.Text)
	})
	return nil
}

func (herald) Stop(context.Context) error { return nil }

// One bot joins two channels: each line is answered in its own channel,
// with that channel's prefix; a message without a channel goes to the
// first channel only.
func TestOneBotInSeveralChannels(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join("lounge", "alice", 1)
	srv.Join("games", "bob", 1)

	cfg := rosey.Config{
		CyTube:   cytube.Config{Server: srv.URL, Channel: "lounge", User: "RoseyBot", BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond},
		Channels: []cytube.Config{{Channel: "games", BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond}},
		Plugins:  []plugin.Plugin{herald{}},
	}
	cfg.Router.Channels = map[string]router.ChannelConfig{"games": {Prefix: "?"}}
	cfg.Database.Dir = t.TempDir()
	cfg.NATS.Embedded.NoListen = true
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	is.NoErr(srv.WaitUser(ctx, "lounge", "RoseyBot"))
	is.NoErr(srv.WaitUser(ctx, "games", "RoseyBot"))

	said := func(channel, want string) {
		t.Helper()
		m, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool {
			return m.From == "RoseyBot" && strings.Contains(cytube.PlainText(m.HTML), want)
		})
		if err != nil {
			t.Fatalf("the bot never said %q: %v", want, err)
		}
		if m.Channel != channel {
			t.Fatalf("%q said in %s, want %s", want, m.Channel, channel)
		}
	}
	srv.Say("lounge", "alice", "!echo one")
	said("lounge", "echo one in lounge")
	srv.Say("games", "bob", "!echo not here") // not a command in games
	srv.Say("games", "bob", "?echo two")
	said("games", "echo two in games")
	srv.Say("games", "bob", "?shout hi")
	said("games", "📣 here: hi")
	said("lounge", "📣 everyone: hi") // no channel: the first channel only

	// Nothing was said twice or in the wrong channel.
	count := map[string]int{}
	for _, m := range srv.Messages() {
		if m.From == "RoseyBot" {
			count[m.Channel+": "+cytube.PlainText(m.HTML)]++
		}
	}
	is.Equal(count, map[string]int{
		"lounge: echo one in lounge": 1,
		"games: echo two in games":   1,
		"games: 📣 here: hi":          1,
		"lounge: 📣 everyone: hi":     1,
	})
}

func TestSeveralChannelsConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  rosey.Config
		want string
	}{
		{"no first channel", rosey.Config{Channels: []cytube.Config{{Channel: "games"}}}, "set cytube.channel too"},
		{"twice", rosey.Config{CyTube: cytube.Config{Channel: "lounge", User: "Bot"}, Channels: []cytube.Config{{Channel: "Lounge"}}}, `channel "Lounge" is listed twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error with %q, got %v", c.want, err)
			}
		})
	}
}
