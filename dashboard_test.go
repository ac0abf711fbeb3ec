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
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/database"
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

// TestMetricsOfADistributedBot: the connector and the database service run
// as processes of their own (rosey run -components connector, -components
// database) on the bot's NATS server; the bot's /metrics and dashboard show
// the channel and the database operations, gathered over NATS.
func TestMetricsOfADistributedBot(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join("lounge", "alice", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The bot: plugins and router, the NATS server, the dashboard.
	cfg := rosey.Config{Plugins: builtin.All(), Components: []string{rosey.ComponentPlugins, rosey.ComponentRouter}}
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.Database.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	bot := rosey.New(cfg)
	is.NoErr(bot.Start(ctx))
	defer bot.Stop(context.Background())

	// The database service and the connector, each on a connection of its
	// own, without a listener of their own.
	dbc := rosey.Config{Components: []string{rosey.ComponentDatabase}}
	dbc.NATS.Config = bot.ClientConfig()
	dbc.Database.Dir = t.TempDir()
	db := rosey.New(dbc)
	is.NoErr(db.Start(ctx))
	defer db.Stop(context.Background())
	cc := rosey.Config{Components: []string{rosey.ComponentConnector}}
	cc.NATS.Config = bot.ClientConfig()
	cc.CyTube.Server, cc.CyTube.Channel, cc.CyTube.User = srv.URL, "lounge", "RoseyBot"
	conn := rosey.New(cc)
	is.NoErr(conn.Start(ctx))
	defer conn.Stop(context.Background())

	is.NoErr(srv.WaitUser(ctx, "lounge", "RoseyBot"))
	srv.Say("lounge", "alice", "!roll 2d6")
	_, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "RoseyBot" && strings.Contains(m.HTML, "Rolled 2d6") })
	is.NoErr(err)
	client := database.NewClient(bot.Bus())
	_, err = client.Set(ctx, "notes", database.IntID(1), map[string]string{"note": "hi"})
	is.NoErr(err)

	sample := func(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
		for _, m := range fams[name].GetMetric() {
			match := 0
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] == l.GetValue() {
					match++
				}
			}
			if match != len(labels) {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Summary != nil:
				return float64(m.Summary.GetSampleCount())
			}
		}
		return -1
	}
	for {
		resp, err := http.Get("http://" + bot.MonitorAddr() + "/metrics")
		is.NoErr(err)
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		is.NoErr(err)
		lounge := map[string]string{"channel": "lounge"}
		if sample(fams, "rosey_connector_connected", lounge) == 1 &&
			sample(fams, "rosey_connector_messages_total", map[string]string{"channel": "lounge", "direction": "in"}) >= 1 &&
			sample(fams, "rosey_connector_messages_total", map[string]string{"channel": "lounge", "direction": "out"}) >= 1 &&
			sample(fams, "rosey_database_operation_duration_seconds", map[string]string{"operation": "set"}) >= 1 &&
			sample(fams, "rosey_nats_server_connections", nil) >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the bot's /metrics never showed the connector's channel and the database's operations")
		case <-time.After(100 * time.Millisecond):
		}
	}

	// The dashboard shows the channel too.
	resp, err := http.Get("http://" + bot.MonitorAddr() + "/api/state")
	is.NoErr(err)
	defer resp.Body.Close()
	var s struct {
		Connectors []monitor.ConnectorState `json:"connectors"`
		Database   struct {
			Operations []struct {
				Operation string `json:"operation"`
				Requests  int    `json:"requests"`
			} `json:"operations"`
		} `json:"database"`
	}
	is.NoErr(json.NewDecoder(resp.Body).Decode(&s))
	is.Equal(len(s.Connectors), 1)
	is.Equal(s.Connectors[0].Channel, "lounge")
	is.Equal(s.Connectors[0].State, protocol.StateConnected)
	is.True(s.Connectors[0].MessagesOut >= 1)
	sets := 0
	for _, o := range s.Database.Operations {
		if o.Operation == "set" {
			sets = o.Requests
		}
	}
	is.True(sets >= 1)
}
