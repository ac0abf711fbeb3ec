package cytube_test

import (
	"context"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// One bot, two channels: a connector per channel on one bus. Each
// publishes its channel's events with its name, says only what is meant
// for its channel, and alone answers its channel's state and actions.
func TestOneConnectorPerChannel(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.Channel = "one" })
	cfg := testConfig(h.srv)
	cfg.Channel = "two"
	two := h.newConnector(cfg)
	h.waitEvent(0, protocol.Connection, func(ev *eventbus.Event) bool {
		var c protocol.ConnectionEvent
		return ev.Decode(&c) == nil && c.Channel == "one" && c.State == protocol.StateConnected
	})
	h.waitEvent(0, protocol.Connection, func(ev *eventbus.Event) bool {
		var c protocol.ConnectionEvent
		return ev.Decode(&c) == nil && c.Channel == "two" && c.State == protocol.StateConnected
	})
	is.Equal(two.State(), protocol.StateConnected)

	at := h.mark()
	h.srv.Say("two", "alice", "hello two")
	ev, _ := h.waitEvent(at, protocol.Chat, nil)
	is.Equal(decodeChat(t, ev).Channel, "two")

	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "to one", Channel: "one"})
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "to two", Channel: "two"})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := h.srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "bot" && m.HTML == "to two" })
	is.NoErr(err)
	is.Equal(m.Channel, "two")
	m, err = h.srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "bot" && m.HTML == "to one" })
	is.NoErr(err)
	is.Equal(m.Channel, "one")

	h.srv.Queue("two", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/2.m3u8", Title: "Two"}, false)
	h.waitEvent(at, protocol.PlaylistQueued, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.PlaylistQueuedEvent](t, ev).Channel == "two"
	})
	var p1, p2 protocol.PlaylistSnapshotEvent
	okData(t, h.do(protocol.StatePlaylist, protocol.ChannelRequest{Channel: "one"}), &p1)
	okData(t, h.do(protocol.StatePlaylist, protocol.ChannelRequest{Channel: "two"}), &p2)
	is.Equal(len(p1.Items), 0)
	is.Equal(len(p2.Items), 1)
	okData(t, h.do(protocol.DoQueue, protocol.ChannelRequest{Channel: "one", URL: "https://example.com/1.m3u8"}), nil)
	items, _ := h.srv.Playlist("one")
	is.Equal(len(items), 1)
	items, _ = h.srv.Playlist("two")
	is.Equal(len(items), 1)
	for _, m := range h.srv.Messages() { // nothing said in the wrong channel
		is.True(!(m.From == "bot" && m.Channel == "one" && m.HTML == "to two"))
		is.True(!(m.From == "bot" && m.Channel == "two" && m.HTML == "to one"))
	}
}
