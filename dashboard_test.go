package rosey_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/monitor"
	"github.com/roseybot/rosey/plugins/builtin"
	"github.com/roseybot/rosey/protocol"
)

// TestDashboardShowsTheCyTubeChannel checks what the bot hands the
// dashboard: the CyTube connector's state and traffic per channel, chat
// and NATS message rates, and every plugin.
func TestDashboardShowsTheCyTubeChannel(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join("lounge", "alice", 1)

	cfg := rosey.Config{Plugins: builtin.All()}
	cfg.CyTube.Server, cfg.CyTube.Channel, cfg.CyTube.User = srv.URL, "lounge", "RoseyBot"
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	is.NoErr(srv.WaitUser(ctx, "lounge", "RoseyBot"))
	srv.Say("lounge", "alice", "!roll 2d6")
	_, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "RoseyBot" && strings.Contains(m.HTML, "Rolled 2d6") })
	is.NoErr(err)

	type state struct {
		Connectors []monitor.ConnectorState `json:"connectors"`
		Messages   []struct {
			Name   string    `json:"name"`
			Values []*uint64 `json:"values"`
		} `json:"messages"`
		Plugins []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"plugins"`
	}
	sum := func(vs []*uint64) (n uint64) {
		for _, v := range vs {
			if v != nil {
				n += *v
			}
		}
		return n
	}
	var s state
	for {
		resp, err := http.Get("http://" + bot.MonitorAddr() + "/api/state")
		is.NoErr(err)
		s = state{}
		is.NoErr(json.NewDecoder(resp.Body).Decode(&s))
		resp.Body.Close()
		rates := map[string]uint64{}
		for _, m := range s.Messages {
			rates[m.Name] = sum(m.Values)
		}
		if len(s.Connectors) == 1 && s.Connectors[0].MessagesOut >= 1 && rates["chat out"] >= 1 && rates["chat in"] >= 1 && rates["NATS out"] >= 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the dashboard never showed the channel's traffic: %+v, rates %v", s.Connectors, rates)
		case <-time.After(100 * time.Millisecond):
		}
	}
	c := s.Connectors[0]
	is.Equal(c.Channel, "lounge")
	is.Equal(c.State, protocol.StateConnected)
	is.True(c.Users >= 2) // alice and the bot
	is.True(!c.Since.IsZero())
	is.True(c.MessagesIn >= 1)
	started := map[string]bool{}
	for _, p := range s.Plugins {
		started[p.Name] = p.State == "started"
	}
	for _, p := range builtin.All() {
		is.True(started[p.Info().Name])
	}
}

// TestDashboardShowsTheConsole: a console bot's dashboard lists the
// console as its connector.
func TestDashboardShowsTheConsole(t *testing.T) {
	is := is.New(t)
	in, w := io.Pipe()
	defer w.Close()
	cfg := rosey.Config{Plugins: builtin.All()}
	cfg.Console.Enabled = true
	cfg.Console.In, cfg.Console.Out = in, io.Discard
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(context.Background()))
	defer bot.Stop(context.Background())

	resp, err := http.Get("http://" + bot.MonitorAddr() + "/api/state")
	is.NoErr(err)
	defer resp.Body.Close()
	var s struct {
		Connectors []monitor.ConnectorState `json:"connectors"`
	}
	is.NoErr(json.NewDecoder(resp.Body).Decode(&s))
	is.Equal(len(s.Connectors), 1)
	is.Equal(s.Connectors[0].Channel, "console")
	is.Equal(s.Connectors[0].State, protocol.StateConnected)
}
