package cytube_test

import (
	"context"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/protocol"
)

// While the bot is away from the channel, the state requests say so
// (not_connected) rather than answer what the connector saw last as if it
// were the channel now; cytube.state.bot still names the bot, marked not
// connected. Back in the channel they answer again.
func TestStateDuringAnOutageSaysNotConnected(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	h.srv.Join("test", "alice", 0)
	_, at := h.waitState(0, protocol.StateConnected)
	var users []protocol.User
	okData(t, h.do(protocol.StateUsers, protocol.ChannelRequest{}), &users)
	is.Equal(len(users), 2) // alice and the bot
	var b protocol.BotState
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.True(b.Connected)

	h.srv.StallJoins(true) // the bot reconnects but never gets in
	h.srv.DropAll()
	h.waitState(at, protocol.StateReconnecting)
	for _, subject := range []string{protocol.StateUsers, protocol.StatePlaylist, protocol.StateMedia, protocol.StatePoll,
		protocol.StateOptions, protocol.StatePermissions, protocol.StateMOTD, protocol.StateEmotes} {
		r := h.do(subject, protocol.ChannelRequest{})
		if r.OK || r.Code != protocol.CodeNotConnected {
			t.Errorf("%s during an outage: ok %v, code %q, data %s", subject, r.OK, r.Code, r.Data)
		}
	}
	b = protocol.BotState{}
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.Equal(b.Name, "bot")
	is.True(!b.Connected)

	at = h.mark()
	h.srv.StallJoins(false)
	h.waitState(at, protocol.StateConnected)
	users = nil
	okData(t, h.do(protocol.StateUsers, protocol.ChannelRequest{}), &users)
	is.Equal(len(users), 2)
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.True(b.Connected)
}

// The connector's last word as it stops is disconnected with the reason
// protocol.ReasonStopped, which others (the admin plugin) rely on to know
// that nobody serves the channel any more.
func TestStopSaysStopped(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	is.NoErr(h.conn.Stop(ctx))
	ce, _ := h.waitState(at, protocol.StateDisconnected)
	is.Equal(ce.Reason, protocol.ReasonStopped)
}
