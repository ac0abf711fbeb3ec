package cytube_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/protocol"
)

// gatherConnectors asks every connector for its statistics, as a monitor
// in any process does, and returns their figures by channel.
func gatherConnectors(t *testing.T, nc *nats.Conn, prefix string) map[string]protocol.ConnectorStats {
	t.Helper()
	inbox := nc.NewRespInbox()
	ch := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe(inbox, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SRV.STATS."+protocol.ConnectorService, inbox, nil); err != nil {
		t.Fatal(err)
	}
	out := map[string]protocol.ConnectorStats{}
	quiet := time.NewTimer(500 * time.Millisecond) // gather what answers; the test waits for what it needs
	defer quiet.Stop()
	for {
		select {
		case m := <-ch:
			var st micro.Stats
			if err := json.Unmarshal(m.Data, &st); err != nil {
				t.Fatalf("$SRV.STATS answer: %v", err)
			}
			if st.Name != protocol.ConnectorService || st.Metadata[protocol.MetaPrefix] != prefix {
				t.Fatalf("unexpected answer %+v", st)
			}
			for _, e := range st.Endpoints {
				if e.Name != "connector" {
					continue
				}
				var cs protocol.ConnectorStats
				if err := json.Unmarshal(e.Data, &cs); err != nil {
					t.Fatalf("connector figures: %v (%s)", err, e.Data)
				}
				if cs.Channel != st.Metadata[protocol.MetaChannel] {
					t.Fatalf("figures of %q from the instance of %q", cs.Channel, st.Metadata[protocol.MetaChannel])
				}
				out[cs.Channel] = cs
			}
		case <-quiet.C:
			return out
		}
	}
}

// TestFiguresOverNATS: every connector serves its figures over NATS, in
// $SRV.STATS.cytube-connector (one instance per channel) and on
// cytube.state.connector, and they follow what happens in the channel:
// lines in and out, the pace holding lines back, CyTube refusing a PM.
func TestFiguresOverNATS(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), unpacedCaps)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 2, AntiFloodSustained: 10})
	h.srv.AddChannel("other", cytubetest.ChannelConfig{})
	h.srv.Join("test", "alice", 1)
	h.waitState(0, protocol.StateConnected)
	other := testConfig(h.srv)
	other.Channel, other.NamedOnly = "other", true
	h.newConnector(other)
	nc := h.bus.Conn()

	var figs map[string]protocol.ConnectorStats
	eventually(t, "both connectors joined, as their statistics say", func() bool {
		figs = gatherConnectors(t, nc, h.bus.Prefix())
		return figs["test"].State == protocol.StateConnected && figs["other"].State == protocol.StateConnected
	})
	is.True(!figs["test"].ConnectedSince.IsZero())
	is.Equal(figs["test"].Pace, protocol.ConnectorPace{Burst: 2, Sustained: 10, AntiFlood: true})
	is.Equal(figs["test"].MessagesOut, uint64(0))

	h.srv.Say("test", "alice", "hello")
	const n = 6 // past the burst of 2: the pace holds lines back
	for i := range n {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Channel: "test", Message: "line " + itoa(i)})
	}
	h.waitBotSaid("line " + itoa(n-1))
	h.publish(protocol.SendPM, protocol.SendPMRequest{Channel: "test", To: "nobody", Message: "hi"}) // not there: refused
	eventually(t, "the figures count the lines, the pace and the refusal", func() bool {
		figs = gatherConnectors(t, nc, h.bus.Prefix())
		f := figs["test"]
		return f.MessagesIn >= 1 && f.MessagesOut >= n && f.Refused >= 1
	})
	f := figs["test"]
	is.True(f.Paced >= 1)
	is.True(f.PacedSeconds > 0)
	is.Equal(f.Queued, 0)
	is.Equal(f.Users, 2)                           // alice and the bot
	is.Equal(figs["other"].MessagesOut, uint64(0)) // every line named the test channel

	// The same figures on request, from the named channel's connector.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := h.bus.Request(ctx, protocol.StateConnector, protocol.ChannelRequest{Channel: "other"})
	is.NoErr(err)
	var rep protocol.Reply
	is.NoErr(ev.Decode(&rep))
	is.True(rep.OK)
	var got protocol.ConnectorStats
	is.NoErr(json.Unmarshal(rep.Data, &got))
	is.Equal(got.Channel, "other")
	is.Equal(got.State, protocol.StateConnected)

	// The connector's Stats say the same as the wire.
	st := h.conn.Stats()
	is.True(st.Refused >= 1)
	is.True(st.PacedFor > 0)

	// Stopped, a connector no longer answers.
	sctx, scancel := context.WithTimeout(context.Background(), wait)
	defer scancel()
	is.NoErr(h.conn.Stop(sctx))
	eventually(t, "the stopped connector is gone from the statistics", func() bool {
		figs = gatherConnectors(t, nc, h.bus.Prefix())
		_, there := figs["test"]
		return !there && figs["other"].State == protocol.StateConnected
	})
}
