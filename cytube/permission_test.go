package cytube_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// CyTube runs the chat commands (/kick, /ban, /mute, /clear) of a user
// only when that user may chat, and ignores them silently otherwise: a
// moderator bot in a channel whose chat needs a higher rank is refused at
// once, nothing sent, instead of waiting out the action's timeout.
func TestModerationCommandsNeedTheChatPermission(t *testing.T) {
	is := is.New(t)
	h := moderatorHarness(t, protocol.RankModerator, cytubetest.ChannelConfig{Permissions: map[string]float64{"chat": protocol.RankAdmin}})
	at := h.mark()
	h.srv.Join("test", "alice", 0)
	h.waitEvent(at, protocol.UserJoin, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.UserJoinEvent](t, ev).User == "alice"
	})
	for subject, req := range map[string]protocol.ChannelRequest{
		protocol.DoKick: {User: "alice"}, protocol.DoBan: {User: "alice"}, protocol.DoMute: {User: "alice"},
		protocol.DoSMute: {User: "alice"}, protocol.DoUnmute: {User: "alice"}, protocol.DoClearChat: {},
	} {
		r := h.do(subject, req)
		is.Equal(r.Code, protocol.CodePermission) // subject
		is.True(strings.Contains(r.Error, "chat"))
	}
	for _, f := range h.srv.Frames() {
		is.True(f.Event != "chatMsg") // nothing sent
	}
	is.True(present(h.srv.Users("test"), "alice"))
	var b protocol.BotState
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	for _, s := range []string{protocol.DoKick, protocol.DoBan, protocol.DoMute, protocol.DoClearChat} {
		is.True(!b.Allowed[s]) // s
	}
	is.True(b.Allowed[protocol.DoDelete])
}
