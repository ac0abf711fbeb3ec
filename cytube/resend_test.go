package cytube_test

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/protocol"
)

// botSaid is everything the bot said, chat lines as text and PMs as
// "to:text", in the order the server took them.
func (h *harness) botSaid() []string {
	var out []string
	for _, m := range h.srv.Messages() {
		switch {
		case m.From != "bot":
		case m.To == "":
			out = append(out, cytube.PlainText(m.HTML))
		default:
			out = append(out, m.To+":"+cytube.PlainText(m.HTML))
		}
	}
	return out
}

// Lines written to a connection that dies before CyTube reads them are
// sent again, once each and in order, on the next connection: chat lines
// the replayed history does not show, and a PM written after such a line
// (CyTube takes a socket's events in order, so it was lost too).
func TestLinesLostWithTheConnectionSentAgain(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.Join("test", "alice", 0)
	h.srv.Hold("chatMsg", "pm") // CyTube has not read them yet when the connection dies
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "one"})
	h.waitFrames("chatMsg", 1)
	h.publish(protocol.SendPM, protocol.SendPMRequest{To: "alice", Message: "private"})
	h.waitFrames("pm", 1)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "two"})
	h.waitFrames("chatMsg", 2)
	h.srv.DropAll()
	h.srv.Release() // the connection is closed: what it sent is lost
	_, at = h.waitState(at, protocol.StateReconnecting)
	h.waitState(at, protocol.StateConnected)

	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "marker"})
	h.waitBotSaid("marker")
	is.Equal(h.botSaid(), []string{"one", "alice:private", "two", "marker"})
}

// A line CyTube took and broadcast, whose echo the connection lost, is in
// the history CyTube replays on the next join: it is not sent again.
func TestLineHeardBeforeTheDropNotSentAgain(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.DropAfter("chatMsg", 1)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "heard"})
	_, at = h.waitState(at, protocol.StateReconnecting)
	h.waitState(at, protocol.StateConnected)

	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "marker"})
	h.waitBotSaid("marker")
	is.Equal(h.botSaid(), []string{"heard", "marker"})
}

// When CyTube took the first lines written before the drop and lost the
// rest, only the rest is sent again; lines echoed before, and lines said
// in the same millisecond as they were, do not confuse the count.
func TestOnlyTheLinesCyTubeMissedSentAgain(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	frozen := time.UnixMilli(1795843084650) // every line in one millisecond
	scfg.Clock = func() time.Time { return frozen }
	h := newHarness(t, scfg, nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "before"})
	h.waitBotSaid("before")
	// alice's line comes after the echo of "before" on the bot's socket:
	// once it is published, the bot has seen its echo.
	h.srv.Say("test", "alice", "after before")
	h.waitEvent(at, protocol.Chat, nil)

	h.srv.Hold("chatMsg")
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "a\nb\nc"})
	h.waitFrames("chatMsg", 4)
	h.srv.DropAfter("chatMsg", 1)
	h.srv.Release() // CyTube takes a, then the connection dies with b and c
	_, at = h.waitState(at, protocol.StateReconnecting)
	h.waitState(at, protocol.StateConnected)

	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "marker"})
	h.waitBotSaid("marker")
	is.Equal(h.botSaid(), []string{"before", "a", "b", "c", "marker"})
}

// A lost line that the next connection's server takes no more (its
// handshake allows only smaller frames) is dropped with a warning, not
// tried for ever: the lines after it go out.
func TestLostLineTooLargeForTheNextConnection(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.Hold("chatMsg")
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: strings.Repeat("x", 150)})
	h.waitFrames("chatMsg", 1)
	h.srv.SetMaxPayload(120) // the frame of that line is larger
	h.srv.DropAll()
	h.srv.Release() // lost with the connection
	_, at = h.waitState(at, protocol.StateReconnecting)
	h.waitState(at, protocol.StateConnected)

	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "marker"})
	h.waitBotSaid("marker")
	is.Equal(h.botSaid(), []string{"marker"})
}
