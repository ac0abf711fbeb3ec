package cytube_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// do sends a cytube.do.* or cytube.state.* request and returns the reply.
func (h *harness) do(subject string, req protocol.ChannelRequest) protocol.Reply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := h.bus.Request(ctx, subject, req)
	if err != nil {
		h.t.Fatalf("%s: %v", subject, err)
	}
	var r protocol.Reply
	if err := ev.Decode(&r); err != nil {
		h.t.Fatalf("%s: %v", subject, err)
	}
	return r
}

// okData checks r is ok and decodes its data into v.
func okData(t *testing.T, r protocol.Reply, v any) {
	t.Helper()
	if !r.OK {
		t.Fatalf("not ok: %s (%s)", r.Error, r.Code)
	}
	if v != nil && len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("data %s: %v", r.Data, err)
		}
	}
}

func decodeEv[T any](t *testing.T, ev *eventbus.Event) T {
	t.Helper()
	var v T
	if err := ev.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func boolp(b bool) *bool { return &b }
func uidp(i int) *int64  { u := int64(i); return &u }
func intp(i int) *int    { return &i }

// moderatorHarness logs the bot in as a registered account with channel
// rank rank in the registered channel "test".
func moderatorHarness(t *testing.T, rank float64, cc cytubetest.ChannelConfig) *harness {
	scfg := cytubetest.Fast()
	h := newHarness(t, scfg, func(c *cytube.Config) {
		c.Password = "pw"
		c.ActionTimeout = 5 * time.Second
	})
	h.srv.AddAccount("bot", "pw", 1)
	cc.Registered = true
	cc.Ranks = map[string]float64{"bot": rank}
	h.srv.AddChannel("test", cc)
	h.waitState(0, protocol.StateConnected)
	return h
}

func TestPlaylistEventsAndState(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	srv := cytubetest.NewServer(scfg)
	defer srv.Close()
	first := srv.Queue("test", "alice", cytubetest.Media{Type: "yt", ID: "aaaaaaaaaaa", Title: "First", Seconds: 60}, false)
	h := newHarness(t, scfg, nil)
	h.srv, h.cfg = srv, testConfig(srv) // the connector starts at the first wait
	from := h.mark()

	// The snapshot on join.
	ev, at := h.waitEvent(from, protocol.PlaylistSnapshot, nil)
	snap := decodeEv[protocol.PlaylistSnapshotEvent](t, ev)
	is.Equal(snap.Channel, "test")
	is.Equal(len(snap.Items), 1)
	is.Equal(snap.Items[0], protocol.MediaItem{UID: int64(first), Title: "First", Type: "yt", ID: "aaaaaaaaaaa", URL: "https://youtu.be/aaaaaaaaaaa", Duration: 60, QueuedBy: "alice"})
	is.Equal(snap.Locked, false) // unregistered channels are open
	_, at = h.waitState(at, protocol.StateConnected)

	// Queued, with position and who queued it.
	second := srv.Queue("test", "bob", cytubetest.Media{Type: "vi", ID: "123", Title: "Second", Seconds: 30}, true)
	ev, at = h.waitEvent(at, protocol.PlaylistQueued, nil)
	q := decodeEv[protocol.PlaylistQueuedEvent](t, ev)
	is.Equal(q.Position, 1)
	is.Equal(*q.After, int64(first))
	is.Equal(q.QueuedBy, "bob")
	is.Equal(q.Item.UID, int64(second))
	is.True(q.Item.Temp)
	is.Equal(q.Item.URL, "https://vimeo.com/123")

	var st protocol.PlaylistSnapshotEvent
	okData(t, h.do(protocol.StatePlaylist, protocol.ChannelRequest{}), &st)
	is.Equal(len(st.Items), 2)
	is.Equal(*st.Current, int64(first))
	is.Equal(st.Items[1].Title, "Second")

	// The temp item plays, ends, and is deleted.
	srv.EndMedia("test")
	ev, at = h.waitEvent(at, protocol.MediaCurrent, nil)
	is.Equal(decodeEv[protocol.MediaCurrentEvent](t, ev).UID, int64(second))
	srv.EndMedia("test")
	ev, at = h.waitEvent(at, protocol.PlaylistDeleted, nil)
	del := decodeEv[protocol.PlaylistDeletedEvent](t, ev)
	is.Equal(del.UID, int64(second))
	is.Equal(del.Item.Title, "Second")

	// Locked and unlocked.
	srv.SetPlaylistLocked("test", true)
	ev, at = h.waitEvent(at, protocol.PlaylistLocked, nil)
	is.True(decodeEv[protocol.PlaylistLockedEvent](t, ev).Locked)

	// Position: playing, then a pause, are published at once; the state
	// knows the item.
	srv.MediaUpdate("test", 10, false)
	srv.MediaUpdate("test", 12.5, true)
	ev, _ = h.waitEvent(at, protocol.MediaPosition, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.MediaPositionEvent](t, ev).Paused
	})
	pos := decodeEv[protocol.MediaPositionEvent](t, ev)
	is.Equal(pos.Time, 12.5)
	var media protocol.MediaPositionEvent
	okData(t, h.do(protocol.StateMedia, protocol.ChannelRequest{Channel: "test"}), &media)
	is.Equal(media.UID, int64(first))
	is.Equal(media.Item.Title, "First")
	is.Equal(media.Time, 12.5)
	is.True(media.Paused)
}

func TestQueueAction(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 5 * time.Second })
	h.srv.AddMedia(cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never", Seconds: 212})
	_, at := h.waitState(0, protocol.StateConnected)

	r := h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://www.youtube.com/watch?v=dQw4w9WgXcQ"})
	var it protocol.MediaItem
	okData(t, r, &it)
	is.Equal(it.Title, "Never")
	is.Equal(it.QueuedBy, "bot")
	is.Equal(it.UID, int64(0)) // CyTube numbers items from 0
	items, _ := h.srv.Playlist("test")
	is.Equal(len(items), 1)
	is.Equal(items[0].UID, int(it.UID))
	h.waitEvent(at, protocol.PlaylistQueued, nil)

	// CyTube's own failure texts.
	r = h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://youtu.be/dQw4w9WgXcQ"})
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "This item is already on the playlist")
	r = h.do(protocol.DoQueue, protocol.ChannelRequest{Type: "yt", ID: "xxxxxxxxxxx"})
	is.Equal(r.Code, protocol.CodeRefused)
	is.True(strings.Contains(r.Error, "requires an API key"))
	ev, _ := h.waitEvent(at, protocol.PlaylistFailed, nil)
	is.Equal(decodeEv[protocol.PlaylistFailedEvent](t, ev).Link, "https://youtu.be/dQw4w9WgXcQ") // with the link

	// A bad link never reaches CyTube.
	r = h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "not a link"})
	is.Equal(r.Code, protocol.CodeBadRequest)
	r = h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://example.com/live.m3u8", Pos: "sideways"})
	is.Equal(r.Code, protocol.CodeBadRequest)
}

// CyTube's queue limit (burst 3, then 1 per second below rank 2): a
// request the limit would refuse before its deadline is answered so.
func TestQueueRateLimited(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 800 * time.Millisecond })
	h.waitState(0, protocol.StateConnected)
	for i := 0; i < 3; i++ {
		okData(t, h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://example.com/live" + itoa(i) + ".m3u8"}), nil)
	}
	r := h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://example.com/live9.m3u8"})
	is.Equal(r.Code, protocol.CodeRateLimited)
	is.True(strings.Contains(r.Error, "3 queued items at once"))
	items, _ := h.srv.Playlist("test")
	is.Equal(len(items), 3) // the fourth never went to CyTube
	for _, f := range h.srv.Frames() {
		is.True(!strings.Contains(string(f.Data), "live9"))
	}
}

// A locked playlist in a registered channel: a guest bot may not add, and
// is told so without sending anything.
func TestQueueRankTooLow(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{Registered: true})
	h.waitState(0, protocol.StateConnected)
	r := h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://example.com/live.m3u8"})
	is.Equal(r.Code, protocol.CodePermission)
	is.True(strings.Contains(r.Error, "add to the playlist"))
	for _, f := range h.srv.Frames() {
		is.True(f.Event != "queue")
	}
	var b protocol.BotState
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.Equal(b.Name, "bot")
	is.True(!b.Allowed[protocol.DoQueue])
	is.True(b.Allowed[protocol.DoVoteskip])
}

func TestPlaylistActions(t *testing.T) {
	is := is.New(t)
	// An unregistered channel lets a guest do everything to the playlist.
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 5 * time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	a := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/a.m3u8", Title: "A"}, false)
	b := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/b.m3u8", Title: "B"}, false)
	c := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/c.m3u8", Title: "C"}, false)
	h.waitEvent(at, protocol.PlaylistQueued, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.PlaylistQueuedEvent](t, ev).Item.UID == int64(c)
	})
	uids := func() []int {
		items, _ := h.srv.Playlist("test")
		var out []int
		for _, it := range items {
			out = append(out, it.UID)
		}
		return out
	}

	okData(t, h.do(protocol.DoMove, protocol.ChannelRequest{UID: uidp(c), After: json.RawMessage(`"prepend"`)}), nil)
	is.Equal(uids(), []int{c, a, b})
	okData(t, h.do(protocol.DoMove, protocol.ChannelRequest{UID: uidp(c), After: json.RawMessage(itoa(b))}), nil)
	is.Equal(uids(), []int{a, b, c})
	var st protocol.PlaylistSnapshotEvent
	okData(t, h.do(protocol.StatePlaylist, protocol.ChannelRequest{}), &st)
	is.Equal([]int64{st.Items[0].UID, st.Items[1].UID, st.Items[2].UID}, []int64{int64(a), int64(b), int64(c)})

	okData(t, h.do(protocol.DoSetTemp, protocol.ChannelRequest{UID: uidp(b), Temp: boolp(true)}), nil)
	okData(t, h.do(protocol.DoJump, protocol.ChannelRequest{UID: uidp(b)}), nil)
	_, cur := h.srv.Playlist("test")
	is.Equal(cur, b)
	is.Equal(uids(), []int{a, b, c})
	okData(t, h.do(protocol.DoSkip, protocol.ChannelRequest{}), nil) // b was temp: deleted after playing
	is.Equal(uids(), []int{a, c})
	_, cur = h.srv.Playlist("test")
	is.Equal(cur, c)
	okData(t, h.do(protocol.DoDelete, protocol.ChannelRequest{UID: uidp(c)}), nil)
	is.Equal(uids(), []int{a})
	is.Equal(a, 0) // CyTube numbers items from 0: uid 0 is an item like any
	okData(t, h.do(protocol.DoDelete, protocol.ChannelRequest{UID: uidp(a)}), nil)
	is.Equal(len(uids()), 0)
	r := h.do(protocol.DoDelete, protocol.ChannelRequest{}) // no uid
	is.Equal(r.Code, protocol.CodeBadRequest)
	b = h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/e.m3u8", Title: "E"}, false)
	h.waitEvent(at, protocol.PlaylistQueued, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.PlaylistQueuedEvent](t, ev).Item.Title == "E"
	})

	r = h.do(protocol.DoDelete, protocol.ChannelRequest{UID: uidp(999)})
	is.Equal(r.Code, protocol.CodeNotFound)
	r = h.do(protocol.DoMove, protocol.ChannelRequest{UID: uidp(b), After: json.RawMessage(`"sideways"`)})
	is.Equal(r.Code, protocol.CodeBadRequest)

	h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/d.m3u8", Title: "D"}, false)
	okData(t, h.do(protocol.DoShuffle, protocol.ChannelRequest{}), nil)
	okData(t, h.do(protocol.DoClear, protocol.ChannelRequest{}), nil)
	is.Equal(len(uids()), 0)
	okData(t, h.do(protocol.StatePlaylist, protocol.ChannelRequest{}), &st)
	is.Equal(len(st.Items), 0)
	is.Equal(st.Current, (*int64)(nil)) // nothing plays
	r = h.do(protocol.DoSkip, protocol.ChannelRequest{})
	is.Equal(r.Code, protocol.CodeNotFound)
}

func TestPollsAndVoteskip(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 5 * time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.Join("test", "alice", 0)
	h.srv.Join("test", "bob", 0)

	okData(t, h.do(protocol.DoPollOpen, protocol.ChannelRequest{Title: "Best?", Options: []string{"x", "y"}}), nil)
	ev, at := h.waitEvent(at, protocol.PollOpened, nil)
	p := decodeEv[protocol.PollEvent](t, ev)
	is.Equal(p.Poll.Title, "Best?")
	is.Equal(p.Poll.Initiator, "bot")
	is.Equal(p.Poll.Counts, []int{0, 0})
	h.srv.Vote("test", "alice", 1)
	ev, at = h.waitEvent(at, protocol.PollUpdated, nil)
	is.Equal(decodeEv[protocol.PollEvent](t, ev).Poll.Counts, []int{0, 1})
	okData(t, h.do(protocol.DoPollVote, protocol.ChannelRequest{Option: intp(1)}), nil)
	var poll protocol.Poll
	okData(t, h.do(protocol.StatePoll, protocol.ChannelRequest{}), &poll)
	is.Equal(poll.Counts, []int{0, 2})
	r := h.do(protocol.DoPollVote, protocol.ChannelRequest{Option: intp(7)})
	is.Equal(r.Code, protocol.CodeBadRequest)
	okData(t, h.do(protocol.DoPollEnd, protocol.ChannelRequest{}), nil)
	ev, at = h.waitEvent(at, protocol.PollClosed, nil)
	is.Equal(decodeEv[protocol.PollEvent](t, ev).Poll.Title, "Best?")
	is.Equal(h.srv.Poll("test"), (*cytubetest.PollState)(nil))
	r = h.do(protocol.DoPollEnd, protocol.ChannelRequest{})
	is.Equal(r.Code, protocol.CodeNotFound)

	// CyTube's own refusal, from newPoll's ack.
	r = h.do(protocol.DoPollOpen, protocol.ChannelRequest{Title: "t", Options: []string{"a"}, Timeout: 100000})
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "Poll timeout must be between 1 and 86400 seconds")

	// Voteskip: three users, ratio 0.5: two votes needed. The bot sees
	// the counts from rank 1.5.
	first := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/1.m3u8", Title: "1"}, false)
	second := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/2.m3u8", Title: "2"}, false)
	h.srv.SetRank("test", "bot", protocol.RankLeader)
	h.waitEvent(at, protocol.UserRank, nil)
	var vr struct {
		Confirmed *bool `json:"confirmed"`
	}
	okData(t, h.do(protocol.DoVoteskip, protocol.ChannelRequest{}), &vr)
	is.Equal(vr.Confirmed, (*bool)(nil)) // seen
	ev, at = h.waitEvent(at, protocol.MediaVoteskip, nil)
	is.Equal(decodeEv[protocol.VoteskipEvent](t, ev), protocol.VoteskipEvent{Channel: "test", Count: 1, Need: 2})
	_, cur := h.srv.Playlist("test")
	is.Equal(cur, first)
	h.srv.Voteskip("test", "bob")
	ev, _ = h.waitEvent(at, protocol.MediaCurrent, nil)
	is.Equal(decodeEv[protocol.MediaCurrentEvent](t, ev).UID, int64(second))
}

func TestModerationActions(t *testing.T) {
	is := is.New(t)
	h := moderatorHarness(t, protocol.RankModerator, cytubetest.ChannelConfig{})
	at := h.mark()
	h.srv.Join("test", "alice", 0)
	h.srv.Join("test", "carol", 0)
	h.srv.Join("test", "boss", protocol.RankAdmin)
	h.waitEvent(at, protocol.UserJoin, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.UserJoinEvent](t, ev).User == "boss"
	})

	okData(t, h.do(protocol.DoMute, protocol.ChannelRequest{User: "alice"}), nil)
	ev, at := h.waitEvent(at, protocol.UserMuted, nil)
	is.Equal(decodeEv[protocol.UserMutedEvent](t, ev), protocol.UserMutedEvent{Channel: "test", User: "alice", Muted: true})
	var users []protocol.User
	okData(t, h.do(protocol.StateUsers, protocol.ChannelRequest{}), &users)
	for _, u := range users {
		is.Equal(u.Muted, u.Name == "alice")
	}
	okData(t, h.do(protocol.DoUnmute, protocol.ChannelRequest{User: "alice"}), nil)
	okData(t, h.do(protocol.DoSMute, protocol.ChannelRequest{User: "carol"}), nil)
	ev, at = h.waitEvent(at, protocol.UserMuted, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.UserMutedEvent](t, ev).User == "carol"
	})
	is.True(decodeEv[protocol.UserMutedEvent](t, ev).Shadow) // a moderator sees shadow mutes

	// [server] notices the bot sees as a moderator.
	okData(t, h.do(protocol.DoKick, protocol.ChannelRequest{User: "alice", Reason: "bye now"}), nil)
	is.True(!present(h.srv.Users("test"), "alice"))
	ev, at = h.waitEvent(at, protocol.ModerationNotice, func(ev *eventbus.Event) bool {
		return strings.Contains(decodeEv[protocol.ServerMessage](t, ev).Message, "kicked alice")
	})

	r := h.do(protocol.DoKick, protocol.ChannelRequest{User: "nobody"})
	is.Equal(r.Code, protocol.CodeUnknownUser)
	r = h.do(protocol.DoKick, protocol.ChannelRequest{User: "boss"})
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "You do not have permission to kick boss") // CyTube's text
	ev, at = h.waitEvent(at, protocol.ModerationError, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev).Message, "You do not have permission to kick boss")

	okData(t, h.do(protocol.DoBan, protocol.ChannelRequest{User: "carol", Reason: "spam"}), nil)
	is.True(h.srv.Banned("test", "carol"))
	r = h.do(protocol.DoBan, protocol.ChannelRequest{User: "carol"})
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "carol is already banned")

	h.srv.Say("test", "boss", "something")
	okData(t, h.do(protocol.DoClearChat, protocol.ChannelRequest{}), nil)
	okData(t, h.do(protocol.DoLeader, protocol.ChannelRequest{User: "boss"}), nil)
	ev, at = h.waitEvent(at, protocol.UserLeader, nil)
	is.Equal(decodeEv[protocol.UserLeaderEvent](t, ev).User, "boss")
	is.Equal(h.srv.Leader("test"), "boss")
	r = h.do(protocol.DoLeader, protocol.ChannelRequest{User: "ghost"})
	is.Equal(r.Code, protocol.CodeUnknownUser)

	// Editing the MOTD needs rank 3: CyTube would kick the bot, so the
	// connector refuses and stays.
	r = h.do(protocol.DoSetMOTD, protocol.ChannelRequest{MOTD: "hi"})
	is.Equal(r.Code, protocol.CodePermission)
	is.True(strings.Contains(r.Error, "edit the MOTD"))
	r = h.do(protocol.DoSetRank, protocol.ChannelRequest{User: "boss", Rank: new(float64)})
	is.Equal(r.Code, protocol.CodePermission)
	is.Equal(h.conn.State(), protocol.StateConnected)
	is.Equal(h.conn.Stats().Reconnects, uint64(0)) // never kicked
	for _, f := range h.srv.Frames() {
		is.True(f.Event != "setMotd" && f.Event != "setChannelRank")
	}
}

func present(us []cytubetest.User, name string) bool {
	for _, u := range us {
		if u.Name == name {
			return true
		}
	}
	return false
}

func TestAdminActions(t *testing.T) {
	is := is.New(t)
	h := moderatorHarness(t, protocol.RankOwner, cytubetest.ChannelConfig{MOTD: "old", Emotes: []string{"Kappa"}})
	at := h.mark()
	h.srv.Join("test", "alice", 1)
	h.waitEvent(at, protocol.UserJoin, nil)

	var motd string
	okData(t, h.do(protocol.StateMOTD, protocol.ChannelRequest{}), &motd)
	is.Equal(motd, "old")
	okData(t, h.do(protocol.DoSetMOTD, protocol.ChannelRequest{MOTD: "<b>new</b>"}), nil)
	ev, at := h.waitEvent(at, protocol.ChannelMOTD, nil)
	is.Equal(decodeEv[protocol.ChannelMOTDEvent](t, ev).MOTD, "<b>new</b>")
	is.Equal(h.srv.MOTD("test"), "<b>new</b>")

	okData(t, h.do(protocol.DoSetRank, protocol.ChannelRequest{User: "alice", Rank: func() *float64 { r := 2.0; return &r }()}), nil)
	ev, _ = h.waitEvent(at, protocol.UserRank, nil)
	is.Equal(decodeEv[protocol.UserRankEvent](t, ev), protocol.UserRankEvent{Channel: "test", User: "alice", Rank: 2})
	r := h.do(protocol.DoSetRank, protocol.ChannelRequest{User: "alice", Rank: func() *float64 { r := 9.0; return &r }()})
	is.Equal(r.Code, protocol.CodeRefused)
	is.True(strings.HasPrefix(r.Error, "Updating user rank failed")) // CyTube's channelRankFail text

	var emotes []protocol.Emote
	okData(t, h.do(protocol.StateEmotes, protocol.ChannelRequest{}), &emotes)
	is.Equal(len(emotes), 1)
	is.Equal(emotes[0].Name, "Kappa")
	var perms map[string]float64
	okData(t, h.do(protocol.StatePermissions, protocol.ChannelRequest{}), &perms)
	is.Equal(perms["motdedit"], float64(3))
	var b protocol.BotState
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.Equal(b.Rank, float64(protocol.RankOwner))
	is.True(b.Allowed[protocol.DoSetMOTD] && b.Allowed[protocol.DoBan] && b.Allowed[protocol.DoSetRank])
}

func TestChannelEventsOnJoinAndChange(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.PositionEvery = time.Hour })
	h.srv.AddChannel("test", cytubetest.ChannelConfig{MOTD: "welcome", Emotes: []string{"Kappa", "PogChamp"}, VoteskipRatio: 0.7})
	ev, _ := h.waitEvent(0, protocol.ChannelOptions, nil)
	o := decodeEv[protocol.ChannelOptionsEvent](t, ev)
	var opts map[string]any
	is.NoErr(json.Unmarshal(o.Options, &opts))
	is.Equal(opts["voteskip_ratio"], 0.7)
	ev, _ = h.waitEvent(0, protocol.ChannelPermissions, nil)
	is.Equal(decodeEv[protocol.ChannelPermissionsEvent](t, ev).Permissions["oplaylistadd"], float64(-1))
	ev, _ = h.waitEvent(0, protocol.ChannelMOTD, nil)
	is.Equal(decodeEv[protocol.ChannelMOTDEvent](t, ev).MOTD, "welcome")
	ev, _ = h.waitEvent(0, protocol.ChannelEmotes, nil)
	is.Equal(len(decodeEv[protocol.ChannelEmotesEvent](t, ev).Emotes), 2)
	ev, _ = h.waitEvent(0, protocol.UserCount, nil)
	is.Equal(decodeEv[protocol.UserCountEvent](t, ev).Count, 1)
	_, at := h.waitState(0, protocol.StateConnected)

	okData(t, h.do(protocol.StateOptions, protocol.ChannelRequest{}), &opts)
	is.Equal(opts["voteskip_ratio"], 0.7)

	h.srv.Join("test", "alice", 0)
	h.waitEvent(at, protocol.UserJoin, nil)
	h.srv.SetAFK("test", "alice", true)
	ev, at = h.waitEvent(at, protocol.UserAFK, nil)
	is.Equal(decodeEv[protocol.UserAFKEvent](t, ev), protocol.UserAFKEvent{Channel: "test", User: "alice", AFK: true})
	h.srv.SetRank("test", "alice", 1.5)
	ev, at = h.waitEvent(at, protocol.UserRank, nil)
	is.Equal(decodeEv[protocol.UserRankEvent](t, ev).Rank, 1.5)
	var users []protocol.User
	okData(t, h.do(protocol.StateUsers, protocol.ChannelRequest{}), &users)
	is.Equal(users, []protocol.User{{Name: "alice", Rank: 1.5, AFK: true}, {Name: "bot", Rank: 0}})

	// Positions: one per new item and per pause or resume; the 5 s
	// updates in between wait for PositionEvery.
	h.srv.Queue("test", "alice", cytubetest.Media{Type: "yt", ID: "bbbbbbbbbbb", Title: "B", Seconds: 100}, false)
	_, at = h.waitEvent(at, protocol.MediaPosition, nil) // the new item
	at++
	h.srv.MediaUpdate("test", 5, false)
	h.srv.MediaUpdate("test", 10, false)
	h.srv.MediaUpdate("test", 11, true)
	ev, _ = h.waitEvent(at, protocol.MediaPosition, nil)
	p := decodeEv[protocol.MediaPositionEvent](t, ev)
	is.Equal(p.Time, float64(5)) // lead-in over: playing
	is.True(!p.Paused)
	ev, i := h.waitEvent(at, protocol.MediaPosition, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.MediaPositionEvent](t, ev).Paused
	})
	is.Equal(decodeEv[protocol.MediaPositionEvent](t, ev).Time, float64(11))
	n := 0
	h.mu.Lock()
	for _, e := range h.events[at:i] {
		if e.Subject == protocol.MediaPosition {
			n++
		}
	}
	h.mu.Unlock()
	is.Equal(n, 1) // the update at 10 s was not published
}

// What the server tells the bot alone: errors, flood notices, its own kick.
func TestServerMessagesPublished(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.publish(protocol.SendPM, protocol.SendPMRequest{To: "ghost", Message: "hi"})
	ev, _ := h.waitEvent(at, protocol.ModerationError, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev).Message, "PM failed: ghost isn't connected to this channel.")

	// Muted: the line is refused with noflood, and not sent again.
	h.srv.Mute("test", "bot", false)
	h.waitEvent(at, protocol.UserMuted, nil)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "while muted"})
	ev, _ = h.waitEvent(at, protocol.ModerationNoFlood, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev), protocol.ServerMessage{Channel: "test", Message: "You have been muted on this channel.", Action: "chat"})
	h.srv.Unmute("test", "bot")
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "free again"})
	h.waitBotSaid("free again")
	is.Equal(h.conn.Stats().Cooldowns, uint64(0))

	h.srv.Kick("test", "bot", "behave")
	ev, at = h.waitEvent(at, protocol.ModerationKicked, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev), protocol.ServerMessage{Channel: "test", Message: "behave"})
	_, at = h.waitState(at+1, protocol.StateConnected)

	// Banned: the bot says so and stops for good.
	h.srv.Ban("test", "bot")
	ev, _ = h.waitEvent(at, protocol.ModerationKicked, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev).Message, "You're banned!")
	h.waitState(at, protocol.StateFailed)
}

// A channel that holds guests too new to chat says so with spamFiltered.
func TestSpamFilteredPublished(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{NewUserChatDelay: true})
	_, at := h.waitState(0, protocol.StateConnected)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "anyone?"})
	ev, _ := h.waitEvent(at, protocol.ModerationSpam, nil)
	is.Equal(decodeEv[protocol.ServerMessage](t, ev), protocol.ServerMessage{Channel: "test", Message: "NEW_USER_CHAT", Code: "NEW_USER_CHAT"})
}

// EventRate mirrors a server's per-socket event limit: lines past it wait.
func TestEventRateCaps(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.Rate, c.Burst, c.EventRate, c.EventBurst = 0, 0, 20, 2 })
	h.waitState(0, protocol.StateConnected)
	for i := 0; i < 6; i++ {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "e" + itoa(i)})
	}
	h.waitBotSaid("e5")
	is.Equal(h.botLines(), []string{"e0", "e1", "e2", "e3", "e4", "e5"})
	is.True(h.conn.Stats().Paced >= 1) // CyTube's own limit (20 at once) held none: the event cap did
}

// Requests for another channel are left to its connector; a body that is
// not JSON gets a clear error.
func TestRequestsForOtherChannelsAndBadBodies(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	h.waitState(0, protocol.StateConnected)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.bus.Request(ctx, protocol.StateUsers, protocol.ChannelRequest{Channel: "elsewhere"})
	is.True(err != nil) // nobody answers for "elsewhere"
	ctx2, cancel2 := context.WithTimeout(context.Background(), wait)
	defer cancel2()
	ev, err := h.bus.Request(ctx2, protocol.DoKick, []byte("not json"))
	is.NoErr(err)
	var r protocol.Reply
	is.NoErr(ev.Decode(&r))
	is.Equal(r.Code, protocol.CodeBadRequest)
}

// A moderation command the chat pace cannot send before its request's
// deadline is answered rate_limited (nothing was sent), not as a timeout,
// and never sent later.
func TestExpiredCommandNeverSent(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) {
		c.Password, c.Rate, c.Burst, c.ActionTimeout = "pw", 0, 0, 300*time.Millisecond
	})
	h.srv.AddAccount("bot", "pw", 1)
	// A leader may kick, and antiflood (one line per 2 s) still applies.
	h.srv.AddChannel("test", cytubetest.ChannelConfig{Registered: true, Ranks: map[string]float64{"bot": 1.5},
		AntiFlood: true, AntiFloodBurst: 1, AntiFloodSustained: 0.5})
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.Join("test", "alice", 0)
	h.waitEvent(at, protocol.UserJoin, nil)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "first"})
	h.waitBotSaid("first")
	r := h.do(protocol.DoKick, protocol.ChannelRequest{User: "alice"})
	// Never sent: not a timeout, which would say CyTube was asked.
	is.Equal(r.Code, protocol.CodeRateLimited)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "marker"})
	h.waitBotSaid("marker") // anything queued before it has gone by now
	for _, f := range h.srv.Frames() {
		is.True(!strings.Contains(string(f.Data), "/kick"))
	}
	is.True(present(h.srv.Users("test"), "alice"))
}
