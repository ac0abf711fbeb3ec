package cytube_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// doAsync sends a request in the background; the reply comes on the
// channel.
func (h *harness) doAsync(subject string, req protocol.ChannelRequest) <-chan protocol.Reply {
	h.t.Helper()
	h.connect()
	out := make(chan protocol.Reply, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var r protocol.Reply
		ev, err := h.bus.Request(ctx, subject, req)
		if err == nil {
			err = ev.Decode(&r)
		}
		if err != nil {
			r = protocol.Reply{Code: "test", Error: err.Error()}
		}
		out <- r
	}()
	return out
}

// waitFrames waits until the server has received n events named event.
func (h *harness) waitFrames(event string, n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	seen := 0
	if _, err := h.srv.WaitFrame(ctx, func(f cytubetest.Frame) bool {
		if f.Event == event {
			seen++
		}
		return seen == n
	}); err != nil {
		h.t.Fatalf("%d %s frames: %v", n, event, err)
	}
}

func reply(t *testing.T, ch <-chan protocol.Reply) protocol.Reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * wait):
		t.Fatal("no reply")
	}
	return protocol.Reply{}
}

// An errorMsg that answers something else (a PM to a user who left) does
// not answer the actions waiting for CyTube meanwhile.
func TestPMFailureAnswersNoAction(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 15 * time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	uid := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/a.m3u8", Title: "A"}, false)
	h.waitEvent(at, protocol.PlaylistQueued, nil)

	h.srv.Hold("delete") // CyTube answers the delete after the PM's error
	del := h.doAsync(protocol.DoDelete, protocol.ChannelRequest{UID: uidp(uid)})
	h.waitFrames("delete", 1)
	h.publish(protocol.SendPM, protocol.SendPMRequest{To: "ghost", Message: "are you there?"})
	h.waitEvent(at, protocol.ModerationError, func(ev *eventbus.Event) bool {
		return strings.HasPrefix(decodeEv[protocol.ServerMessage](t, ev).Message, "PM failed")
	})
	h.srv.Release()
	r := reply(t, del)
	is.Equal(r.Error, "")
	is.True(r.OK)
	items, _ := h.srv.Playlist("test")
	is.Equal(len(items), 0)
}

// CyTube's refusal of one kick answers that kick only, not another kick
// waiting at the same time.
func TestRefusalAnswersItsOwnAction(t *testing.T) {
	is := is.New(t)
	h := moderatorHarness(t, protocol.RankModerator, cytubetest.ChannelConfig{})
	at := h.mark()
	h.srv.Join("test", "alice", 0)
	h.srv.Join("test", "boss", protocol.RankAdmin)
	h.waitEvent(at, protocol.UserJoin, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.UserJoinEvent](t, ev).User == "boss"
	})

	h.srv.Hold("chatMsg") // both commands reach CyTube before it answers either
	boss := h.doAsync(protocol.DoKick, protocol.ChannelRequest{User: "boss"})
	h.waitFrames("chatMsg", 1)
	alice := h.doAsync(protocol.DoKick, protocol.ChannelRequest{User: "alice"})
	h.waitFrames("chatMsg", 2)
	h.srv.Release()

	r := reply(t, boss)
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "You do not have permission to kick boss")
	r = reply(t, alice)
	is.Equal(r.Error, "")
	is.True(r.OK)
	is.True(!present(h.srv.Users("test"), "alice"))
}

// Actions sent on a connection that drops before CyTube answers fail at
// once as unknown_outcome (sent, perhaps done: not not_connected, which
// says nothing was sent): they neither wait for their timeout nor take
// the next connection's join burst (its playlist, its setCurrent) for
// their answer.
func TestActionsInFlightFailWhenTheConnectionDrops(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 15 * time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	a := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/a.m3u8", Title: "A"}, false)
	b := h.srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/b.m3u8", Title: "B"}, false)
	h.waitEvent(at, protocol.PlaylistQueued, func(ev *eventbus.Event) bool {
		return decodeEv[protocol.PlaylistQueuedEvent](t, ev).Item.UID == int64(b)
	})

	h.srv.Hold("shufflePlaylist", "delete", "playNext")
	shuffle := h.doAsync(protocol.DoShuffle, protocol.ChannelRequest{})
	del := h.doAsync(protocol.DoDelete, protocol.ChannelRequest{UID: uidp(a)})
	skip := h.doAsync(protocol.DoSkip, protocol.ChannelRequest{})
	h.waitFrames("shufflePlaylist", 1)
	h.waitFrames("delete", 1)
	h.waitFrames("playNext", 1)
	from := h.mark()
	h.srv.DropAll() // the held events are lost with the connection
	h.srv.Release()
	for _, ch := range []<-chan protocol.Reply{shuffle, del, skip} {
		r := reply(t, ch)
		is.Equal(r.Code, protocol.CodeUnknownOutcome)
		is.True(strings.Contains(r.Error, "dropped"))
	}
	h.waitState(from, protocol.StateConnected)
	items, cur := h.srv.Playlist("test")
	is.Equal(len(items), 2)
	is.Equal(cur, a)
}

// An action whose frame CyTube could not take (over its 1 MiB message
// limit, it closes the connection) is refused before it is sent; a
// moderation command is cut to the chat length CyTube keeps anyway.
func TestOversizedActionsNeverDropTheConnection(t *testing.T) {
	is := is.New(t)
	h := moderatorHarness(t, protocol.RankModerator, cytubetest.ChannelConfig{})
	at := h.mark()
	h.srv.Join("test", "alice", 0)
	h.waitEvent(at, protocol.UserJoin, nil)

	// 400 000 bytes that are not UTF-8 are 400 kB in the request and 1.2 MB
	// in the frame to CyTube, each made a U+FFFD.
	sep := strings.Repeat("\xff", 400_000)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	msg, err := h.bus.Conn().RequestWithContext(ctx, protocol.DoPollOpen, []byte(`{"title":"`+sep+`","options":["a","b"]}`))
	is.NoErr(err)
	var r protocol.Reply
	is.NoErr(json.Unmarshal(msg.Data, &r))
	is.Equal(r.Code, protocol.CodeBadRequest)
	msg, err = h.bus.Conn().RequestWithContext(ctx, protocol.DoKick, []byte(`{"user":"alice","reason":"`+sep+`"}`))
	is.NoErr(err)
	r = protocol.Reply{}
	is.NoErr(json.Unmarshal(msg.Data, &r))
	is.Equal(r.Error, "")
	is.True(r.OK)
	is.True(!present(h.srv.Users("test"), "alice"))
	is.Equal(h.conn.Stats().Reconnects, uint64(0))
	is.Equal(h.conn.State(), protocol.StateConnected)
	for _, f := range h.srv.Frames() {
		is.True(f.Event != "newPoll")
		is.True(len(f.Data) < 2000)
	}
}

// While the bot is away, what is published waits in the bounded send
// queue (QueueSize) and the overflow is dropped and counted, at once: the
// bus handlers never block until the bot is back, with everything piling
// up unbounded behind them in the NATS client.
func TestSendQueueBoundedWhileAway(t *testing.T) {
	is := is.New(t)
	const size, sent = 3, 8
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.QueueSize = size })
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.StallJoins(true) // the bot reconnects but never gets in
	h.srv.DropAll()
	h.waitState(at, protocol.StateReconnecting)
	for i := 0; i < sent; i++ {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "away " + itoa(i)})
	}
	// The connector takes the lines in one by one: wait until it has taken
	// enough of them to overflow.
	deadline := time.Now().Add(wait)
	for int(h.conn.Stats().Dropped) < sent-size-1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := h.conn.Stats()
	is.True(st.Dropped > 0)                 // the overflow is dropped while the bot is away
	is.True(st.Queued <= size)              // and what waits is bounded
	is.True(int(st.Dropped) >= sent-size-1) // what the queue (and the line being sent) cannot hold
	at = h.mark()
	h.srv.StallJoins(false)
	h.waitState(at, protocol.StateConnected)
	// What waited goes out first; "back" published while the queue is
	// still full would be dropped like the overflow.
	for until := time.Now().Add(wait); h.conn.Stats().Queued > 0 && time.Now().Before(until); {
		time.Sleep(10 * time.Millisecond)
	}
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "back"})
	h.waitBotSaid("back")
	lines := h.botLines()
	is.Equal(len(lines)-1+int(h.conn.Stats().Dropped), sent) // each line said once or counted dropped
	for i, l := range lines[:len(lines)-1] {
		is.Equal(l, "away "+itoa(i)) // the first ones, in order
	}
}

// CyTube gives a registered bot its channel rank after the join burst
// (from its database): the connector says it is connected only once it has
// it, so that the first actions after every (re)connect are checked
// against the bot's real rank.
func TestConnectedWithTheChannelRank(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	scfg.ChannelRankDelay = time.Second
	h := newHarness(t, scfg, func(c *cytube.Config) { c.Password, c.ActionTimeout = "pw", 5*time.Second })
	h.srv.AddAccount("bot", "pw", 1)
	h.srv.AddChannel("test", cytubetest.ChannelConfig{Registered: true, Ranks: map[string]float64{"bot": protocol.RankModerator}})
	h.srv.Join("test", "alice", 0)
	_, at := h.waitState(0, protocol.StateConnected)
	var b protocol.BotState
	okData(t, h.do(protocol.StateBot, protocol.ChannelRequest{}), &b)
	is.Equal(b.Rank, float64(protocol.RankModerator))
	okData(t, h.do(protocol.DoMute, protocol.ChannelRequest{User: "alice"}), nil)

	// Again after a reconnect.
	h.srv.DropAll()
	_, at = h.waitState(at, protocol.StateReconnecting)
	h.waitState(at, protocol.StateConnected)
	okData(t, h.do(protocol.DoUnmute, protocol.ChannelRequest{User: "alice"}), nil)
	var users []protocol.User
	okData(t, h.do(protocol.StateUsers, protocol.ChannelRequest{}), &users)
	for _, u := range users {
		if u.Name == "bot" {
			is.Equal(u.Rank, float64(protocol.RankModerator))
		}
	}
}

// A write that fails (CyTube stopped reading: the write timed out) leaves
// the websocket unusable for good: the connector drops it and reconnects
// at once, rather than keep reading from it, unable to answer anything,
// until the next ping it cannot answer either (25 s on CyTube) or for ever.
func TestFailedWriteReconnects(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	scfg.PingInterval, scfg.PingTimeout = time.Hour, time.Hour // nothing else ends the connection
	h := newHarness(t, scfg, func(c *cytube.Config) { c.WriteTimeout, c.ActionTimeout = 200*time.Millisecond, 2*time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.StallReads(true)
	// Polls of 900 kB each until the TCP buffers are full and a write
	// times out.
	big := []byte(`{"title":"` + strings.Repeat("x", 900_000) + `","options":["a"]}`)
	var replies []<-chan *nats.Msg
	for i := 0; i < 40; i++ {
		ch := make(chan *nats.Msg, 1)
		replies = append(replies, ch)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			m, err := h.bus.Conn().RequestWithContext(ctx, protocol.DoPollOpen, big)
			if err != nil {
				m = &nats.Msg{Data: []byte(`{"code":"test"}`)}
			}
			ch <- m
		}()
	}
	h.waitState(at, protocol.StateReconnecting)
	for _, ch := range replies {
		var r protocol.Reply
		is.NoErr(json.Unmarshal((<-ch).Data, &r))
		// (the one the server was reading when it stalled is refused: too long a title;
		// those written before the failed one were sent: their outcome is unknown)
		if r.Code != protocol.CodeNotConnected && r.Code != protocol.CodeUnknownOutcome && r.Code != protocol.CodeTimeout && r.Code != protocol.CodeRefused {
			t.Errorf("%s: %s", r.Code, r.Error)
		}
	}
	h.srv.StallReads(false)
	at = h.mark()
	h.waitState(at, protocol.StateConnected)
	// What waited goes out first; "back" published while the queue is
	// still full would be dropped like the overflow.
	for until := time.Now().Add(wait); h.conn.Stats().Queued > 0 && time.Now().Before(until); {
		time.Sleep(10 * time.Millisecond)
	}
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "back"})
	h.waitBotSaid("back")
}

// A YouTube playlist is queued by CyTube video by video: the action is
// answered by the first video queued (not left to time out), and a video
// already on the playlist does not fail the whole playlist.
func TestQueueYouTubePlaylist(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 15 * time.Second })
	a := cytubetest.Media{Type: "yt", ID: "aaaaaaaaaaa", Title: "A", Seconds: 60}
	b := cytubetest.Media{Type: "yt", ID: "bbbbbbbbbbb", Title: "B", Seconds: 60}
	h.srv.AddMedia(a)
	const list = "PL0123456789abcdefghijABCDEFGHIJ_-"
	h.srv.AddYouTubePlaylist(list, a, b)
	h.waitState(0, protocol.StateConnected)
	okData(t, h.do(protocol.DoQueue, protocol.ChannelRequest{Type: "yt", ID: a.ID}), nil)

	r := h.do(protocol.DoQueue, protocol.ChannelRequest{URL: "https://www.youtube.com/playlist?list=" + list})
	var it protocol.MediaItem
	okData(t, r, &it)
	is.Equal(it.Title, "B") // A was already there
	items, _ := h.srv.Playlist("test")
	is.Equal(len(items), 2)
}

// CyTube answers a queue it was slow to carry out after the action timed
// out: that late answer is the timed-out action's, not the answer of the
// next queue of the same link, which gets its own.
func TestLateQueueAnswerSettlesNotTheNextQueue(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 2 * time.Second })
	a := cytubetest.Media{Type: "yt", ID: "aaaaaaaaaaa", Title: "A", Seconds: 60}
	h.srv.AddMedia(a)
	h.waitState(0, protocol.StateConnected)
	h.srv.Hold("queue") // CyTube is busy: it reads both queues and answers later
	first := h.doAsync(protocol.DoQueue, protocol.ChannelRequest{Type: "yt", ID: a.ID})
	h.waitFrames("queue", 1)
	is.Equal(reply(t, first).Code, protocol.CodeTimeout)

	second := h.doAsync(protocol.DoQueue, protocol.ChannelRequest{Type: "yt", ID: a.ID})
	h.waitFrames("queue", 2)
	h.srv.Release() // the first is queued; the second is a duplicate
	r := reply(t, second)
	is.Equal(r.Code, protocol.CodeRefused)
	is.Equal(r.Error, "This item is already on the playlist")
	items, _ := h.srv.Playlist("test")
	is.Equal(len(items), 1)
}

// An action is answered only by what CyTube sends after it was asked for:
// an event the connector had already read (and published), whose handling
// a plugin reacted to by asking for the action, is not its answer. A
// vote asked for on hearing another user's vote was answered by that
// vote's update, before CyTube counted the bot's.
func TestEventBeforeTheRequestIsNotItsAnswer(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.ActionTimeout = 15 * time.Second })
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.Join("test", "alice", 0)
	// The bot votes as alice did as soon as it hears her vote: from the
	// handler of the event itself, as a plugin does.
	votes := make(chan protocol.Reply, 1)
	sub, err := h.bus.Subscribe(protocol.PollUpdated, func(ctx context.Context, ev *eventbus.Event) {
		var p protocol.PollEvent
		if ev.Decode(&p) != nil || len(p.Poll.Counts) != 2 || p.Poll.Counts[0]+p.Poll.Counts[1] != 1 { // alice's vote alone
			return
		}
		o := 0
		if p.Poll.Counts[1] == 1 {
			o = 1
		}
		var r protocol.Reply
		rev, err := h.bus.Request(ctx, protocol.DoPollVote, protocol.ChannelRequest{Option: intp(o)})
		if err == nil {
			err = rev.Decode(&r)
		}
		if err != nil {
			r = protocol.Reply{Code: "test", Error: err.Error()}
		}
		votes <- r
	})
	is.NoErr(err)
	defer func() { _ = sub.Unsubscribe() }()
	for i := 0; i < 30; i++ {
		o := i % 2
		h.srv.OpenPoll("test", "alice", "round "+itoa(i), []string{"x", "y"}, false)
		_, at = h.waitEvent(at, protocol.PollOpened, func(ev *eventbus.Event) bool {
			return decodeEv[protocol.PollEvent](t, ev).Poll.Title == "round "+itoa(i)
		})
		h.srv.Vote("test", "alice", o)
		r := reply(t, votes)
		is.Equal(r.Error, "")
		var d struct {
			Confirmed *bool `json:"confirmed"`
		}
		_ = json.Unmarshal(r.Data, &d)
		is.Equal(d.Confirmed, (*bool)(nil)) // answered by CyTube's update, not the soft answer
		var poll protocol.Poll
		okData(t, h.do(protocol.StatePoll, protocol.ChannelRequest{}), &poll)
		want := []int{0, 0}
		want[o] = 2
		is.Equal(poll.Counts, want) // the bot's vote is in once it is answered
	}
}
