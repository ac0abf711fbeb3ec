package roseytest

import (
	"context"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/protocol"
)

// CyTube gives the harness a CyTube channel whose state a test sets: it
// starts a fake CyTube server (package cytubetest) and a real connector on
// the harness's bus, logged in as "RoseyBot" in the harness's Channel, and
// returns the server once the bot is in. The test sets the channel up
// through the server's hooks (Join, Queue, OpenPoll, SetRank,
// UpdateChannel…); plugins read and change it over cytube.state.* and
// cytube.do.* (package cytube/client) exactly as in production. Lines the
// test says with Say and PM still go straight to the router; the
// connector also says the answers in the fake channel. edit, when given,
// adjusts the connector's config.
func (h *Harness) CyTube(edit ...func(*cytube.Config)) *cytubetest.Server {
	h.t.Helper()
	srv := cytubetest.NewServer(cytubetest.Fast())
	h.t.Cleanup(srv.Close)
	cfg := cytube.Config{
		Server: srv.URL, Channel: Channel, User: "RoseyBot",
		BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond,
	}
	for _, e := range edit {
		e(&cfg)
	}
	conn, err := cytube.New(h.bus, cfg)
	if err != nil {
		h.t.Fatalf("roseytest: cytube: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Start(ctx); err != nil {
		h.t.Fatalf("roseytest: cytube: %v", err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Stop(ctx); err != nil {
			h.t.Errorf("roseytest: stop cytube connector: %v", err)
		}
	})
	for conn.State() != protocol.StateConnected {
		if ctx.Err() != nil {
			h.t.Fatalf("roseytest: the connector never joined the fake channel (state %s)", conn.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return srv
}
