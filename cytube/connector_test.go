package cytube_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

func TestGuestCommandAnswered(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	echo(t, h.bus)
	h.srv.Join("test", "alice", protocol.RankModerator)
	ce, _ := h.waitState(0, protocol.StateConnected)
	is.Equal(ce.User, "bot")

	from := h.mark()
	h.srv.Say("test", "alice", `!echo hi <b>&amp; "q" http://example.com/a?b=c&d=e`)
	ev, _ := h.waitEvent(from, protocol.Chat, nil)
	m := decodeChat(t, ev)
	is.Equal(m.User, "alice")
	is.Equal(m.Message, `!echo hi <b>&amp; "q" http://example.com/a?b=c&d=e`) // tags stripped, entities decoded
	is.Equal(m.Rank, float64(protocol.RankModerator))                         // rank from the user list
	is.Equal(m.Channel, "test")
	is.True(m.Time > 0)

	sent := h.waitBotSaid(`echo: hi <b>&amp; "q" http://example.com/a?b=c&d=e`)
	is.True(strings.Contains(sent.HTML, "&lt;b&gt;")) // the server escaped what the bot sent

	st := h.conn.Stats()
	is.Equal(st.State, protocol.StateConnected)
	is.True(st.MessagesIn >= 1)
	is.True(st.MessagesOut >= 1)
	is.Equal(st.User, "bot")
	is.Equal(st.Rank, float64(protocol.RankGuest))
}

func TestHistoryAndOwnMessagesIgnored(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	for i := 0; i < 20; i++ {
		srv.Say("test", "alice", "!echo old")
	}
	h := newHarness(t, cytubetest.Fast(), nil)
	h.srv.Close()
	h.srv, h.cfg = srv, testConfig(srv) // the seeded server; the connector starts at the first wait
	echo(t, h.bus)
	h.waitState(0, protocol.StateConnected)

	// The bot says something that would trigger the responder if it were
	// not ignored; then alice's marker proves the pipeline has caught up.
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "!echo self"})
	h.waitBotSaid("!echo self")
	h.srv.Say("test", "alice", "!echo marker")
	h.waitBotSaid("echo: marker")
	for _, l := range h.botLines() {
		is.True(l != "echo: old")  // history is never executed
		is.True(l != "echo: self") // the bot's own line is ignored
	}
}

func TestLongRepliesSplitAndNoCommands(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	h.waitState(0, protocol.StateConnected)
	long := strings.Repeat("word ", 150) // 750 characters
	h.publish(protocol.SendChat, map[string]any{"result": long + "\n/clear the chat\n\n   \nlast"})
	h.waitBotSaid("last")
	lines := h.botLines()
	is.True(len(lines) >= 5)
	for _, l := range lines {
		is.True(len(utf16.Encode([]rune(l))) <= 320) // never truncated by the server
		is.True(!strings.HasPrefix(l, "/"))
		is.True(!strings.HasPrefix(l, " ") && !strings.HasSuffix(l, " ")) // split on word boundaries
	}
	joined := strings.Join(lines[:len(lines)-2], " ")
	is.Equal(joined, strings.TrimSpace(long))
	is.Equal(strings.TrimPrefix(lines[len(lines)-2], "\u200b"), "/clear the chat") // sent as text, not run
}

func TestBurstAnsweredInOrderWithoutCooldown(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	h := newHarness(t, scfg, func(c *cytube.Config) { c.Rate, c.Burst = 20, 4 })
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 4, AntiFloodSustained: 40})
	echo(t, h.bus)
	h.waitState(0, protocol.StateConnected)
	const n = 50
	for i := 0; i < n; i++ {
		h.srv.Say("test", "alice", "!echo "+itoa(i))
	}
	h.waitBotSaid("echo: " + itoa(n-1))
	lines := h.botLines()
	is.Equal(len(lines), n)
	for i, l := range lines {
		is.Equal(l, "echo: "+itoa(i))
	}
	is.Equal(h.srv.Stats().Cooldowns, 0)
	is.Equal(h.conn.Stats().Cooldowns, uint64(0))
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestReconnectExactlyOneReply(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)
	for i := 0; i < 3; i++ {
		is.True(h.srv.DropAll() >= 1)
		_, at = h.waitState(at+1, protocol.StateReconnecting)
		_, at = h.waitState(at+1, protocol.StateConnected)
	}
	// A reply queued while disconnected is delivered after reconnecting.
	h.srv.DropAll()
	_, at = h.waitState(at+1, protocol.StateReconnecting)
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "queued while down"})
	_, at = h.waitState(at+1, protocol.StateConnected)
	h.waitBotSaid("queued while down")

	h.srv.Say("test", "alice", "!echo once")
	h.srv.Say("test", "alice", "!echo marker")
	h.waitBotSaid("echo: marker")
	n := 0
	for _, l := range h.botLines() {
		if l == "echo: once" {
			n++
		}
	}
	is.Equal(n, 1) // exactly one reply after any number of reconnects
	is.True(h.conn.Stats().Reconnects >= 4)
}

func TestRestartAndKickReconnect(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)
	is.True(h.srv.Kick("test", "bot", "go away"))
	ce, at := h.waitState(at+1, protocol.StateKicked)
	is.True(strings.Contains(ce.Reason, "go away"))
	_, at = h.waitState(at+1, protocol.StateConnected)
	h.srv.Restart()
	_, _ = h.waitState(at+1, protocol.StateConnected)
	h.srv.Say("test", "alice", "!echo back")
	h.waitBotSaid("echo: back")
}

func TestDeadServerDetected(t *testing.T) {
	h := newHarness(t, cytubetest.Fast(), nil)
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.SetSilent(true)
	ce, at := h.waitState(at+1, protocol.StateReconnecting)
	if !strings.Contains(ce.Reason, "dead") {
		t.Fatalf("reason %q does not say the link was dead", ce.Reason)
	}
	h.srv.SetSilent(false)
	h.waitState(at+1, protocol.StateConnected)
}

// A server that keeps pinging but never lets the bot into the channel is
// left and tried again, rather than waited on forever.
func TestStalledJoinIsRetried(t *testing.T) {
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.HandshakeTimeout = 500 * time.Millisecond })
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.StallJoins(true)
	h.srv.DropAll()
	for {
		var ce protocol.ConnectionEvent
		ce, at = h.waitState(at+1, protocol.StateReconnecting)
		if strings.Contains(ce.Reason, "joined no channel") {
			break
		}
	}
	h.srv.StallJoins(false)
	h.waitState(at+1, protocol.StateConnected)
	h.srv.Say("test", "alice", "!echo in again")
	h.waitBotSaid("echo: in again")
}

func TestRateLimitedConnectRespected(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	scfg.ConnectBurst, scfg.ConnectInterval = 1, 300*time.Millisecond
	h := newHarness(t, scfg, func(c *cytube.Config) { c.ConnectInterval = 10 * time.Millisecond })
	_, at := h.waitState(0, protocol.StateConnected)
	h.srv.DropAll()
	h.waitState(at+1, protocol.StateConnected)
	is.True(h.srv.Stats().RateLimited >= 1) // the connector was told off and waited
}

func TestRegisteredLoginWithChannelPassword(t *testing.T) {
	is := is.New(t)
	scfg := cytubetest.Fast()
	h := newHarness(t, scfg, func(c *cytube.Config) {
		c.Channel, c.Password, c.ChannelPassword = "secret", "hunter2", "sesame"
	})
	h.srv.AddAccount("Bot", "hunter2", 1)
	h.srv.AddChannel("secret", cytubetest.ChannelConfig{Password: "sesame", Registered: true, Ranks: map[string]float64{"Bot": 2}})
	ce, _ := h.waitState(0, protocol.StateConnected)
	is.Equal(ce.User, "Bot") // the account's spelling
	st := h.conn.Stats()
	is.Equal(st.Rank, float64(2))
	users := h.srv.Users("secret")
	is.Equal(len(users), 1)
	is.Equal(users[0].Name, "Bot")
}

func TestGuestLoginCooldownWaits(t *testing.T) {
	scfg := cytubetest.Fast()
	scfg.GuestLoginDelay = 400 * time.Millisecond
	h := newHarness(t, scfg, nil)
	_, at := h.waitState(0, protocol.StateConnected)
	// A second bot from the same IP must wait out the guest delay, then join.
	cfg := testConfig(h.srv)
	cfg.User = "bot2"
	h.newConnector(cfg)
	_, at = h.waitEvent(at+1, protocol.Connection, func(ev *eventbus.Event) bool {
		var c protocol.ConnectionEvent
		return ev.Decode(&c) == nil && c.State == protocol.StateConnecting && strings.Contains(c.Reason, "guest login cooldown")
	})
	h.waitEvent(at+1, protocol.Connection, func(ev *eventbus.Event) bool {
		var c protocol.ConnectionEvent
		return ev.Decode(&c) == nil && c.State == protocol.StateConnected && c.User == "bot2"
	})
}

func TestFatalErrorsStopRetrying(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*cytubetest.Server)
		scfg  func(*cytubetest.Config)
		cfg   func(*cytube.Config)
		want  error
	}{
		{name: "no such channel", scfg: func(c *cytubetest.Config) { c.StrictChannels = true }, want: cytube.ErrNoSuchChannel},
		{name: "wrong password", setup: func(s *cytubetest.Server) { s.AddAccount("bot", "right", 1) },
			cfg: func(c *cytube.Config) { c.Password = "wrong" }, want: cytube.ErrBadPassword},
		{name: "registered name as guest", setup: func(s *cytubetest.Server) { s.AddAccount("bot", "right", 1) }, want: cytube.ErrRegisteredName},
		{name: "banned from server", setup: func(s *cytubetest.Server) { s.BanFromServer("") }, want: cytube.ErrBanned},
		{name: "banned from channel", setup: func(s *cytubetest.Server) { s.Ban("test", "bot") }, want: cytube.ErrBanned},
		{name: "missing channel password", setup: func(s *cytubetest.Server) {
			s.AddChannel("test", cytubetest.ChannelConfig{Password: "sesame"})
		}, want: cytube.ErrChannelPassword},
		{name: "wrong channel password", setup: func(s *cytubetest.Server) {
			s.AddChannel("test", cytubetest.ChannelConfig{Password: "sesame"})
		}, cfg: func(c *cytube.Config) { c.ChannelPassword = "nope" }, want: cytube.ErrChannelPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			scfg := cytubetest.Fast()
			if tc.scfg != nil {
				tc.scfg(&scfg)
			}
			srv := cytubetest.NewServer(scfg)
			defer srv.Close()
			if tc.setup != nil {
				tc.setup(srv)
			}
			bus := newBus(t)
			cfg := testConfig(srv)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			failed := make(chan protocol.ConnectionEvent, 1)
			_, err := bus.Subscribe(protocol.Connection, func(_ context.Context, ev *eventbus.Event) {
				var ce protocol.ConnectionEvent
				if ev.Decode(&ce) == nil && ce.State == protocol.StateFailed {
					failed <- ce
				}
			})
			is.NoErr(err)
			c, err := cytube.New(bus, cfg)
			is.NoErr(err)
			is.NoErr(c.Start(context.Background()))
			select {
			case <-c.Done():
			case <-time.After(wait):
				t.Fatalf("still running in state %s", c.State())
			}
			is.True(errors.Is(c.Err(), tc.want)) // the right sentinel
			is.True(cytube.IsFatal(c.Err()))
			is.Equal(c.State(), protocol.StateFailed)
			select {
			case ce := <-failed:
				is.True(ce.Reason != "")
			case <-time.After(wait):
				t.Fatal("no failed state event")
			}
			is.True(srv.Stats().ConnectAttempts <= 1) // no retry loop
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			is.NoErr(c.Stop(ctx))
		})
	}
}

func TestDuplicateLoginReportedNotFought(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.Password = "pw" })
	h.srv.AddAccount("bot", "pw", 1)
	_, _ = h.waitState(0, protocol.StateConnected)
	cfg := testConfig(h.srv)
	cfg.Password = "pw"
	second := h.newConnector(cfg)
	select {
	case <-h.conn.Done():
	case <-time.After(wait):
		t.Fatalf("first connector still %s", h.conn.State())
	}
	is.True(errors.Is(h.conn.Err(), cytube.ErrDuplicateLogin))
	is.True(second.Err() == nil)
}

func TestUsersMediaAndPM(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)

	h.srv.Join("test", "carol", protocol.RankLeader)
	ev, at := h.waitEvent(at, protocol.UserJoin, nil)
	var j protocol.UserJoinEvent
	is.NoErr(ev.Decode(&j))
	is.Equal(j, protocol.UserJoinEvent{User: "carol", Channel: "test", Rank: protocol.RankLeader})

	h.srv.ChangeMedia("test", cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Song & Dance", Seconds: 212})
	ev, at = h.waitEvent(at, protocol.MediaChange, nil)
	var mc protocol.MediaChangeEvent
	is.NoErr(ev.Decode(&mc))
	is.Equal(mc, protocol.MediaChangeEvent{Title: "Song & Dance", URL: "https://youtu.be/dQw4w9WgXcQ", Duration: 212, Type: "yt", ID: "dQw4w9WgXcQ", Channel: "test", Time: -3})

	is.NoErr(h.srv.PM("test", "carol", "bot", "!echo secret"))
	ev, at = h.waitEvent(at, protocol.PM, nil)
	pm := decodeChat(t, ev)
	is.Equal(pm.User, "carol")
	is.Equal(pm.Rank, float64(protocol.RankLeader))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := h.srv.WaitMessage(ctx, func(m cytubetest.Message) bool {
		return m.From == "bot" && m.To == "carol" && m.HTML == "echo: secret"
	})
	is.NoErr(err)

	h.srv.Leave("test", "carol")
	ev, _ = h.waitEvent(at, protocol.UserLeave, nil)
	var l protocol.UserLeaveEvent
	is.NoErr(ev.Decode(&l))
	is.Equal(l.User, "carol")
}

func TestBadInputNeverCrashes(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), nil)
	echo(t, h.bus)
	_, at := h.waitState(0, protocol.StateConnected)
	for _, raw := range []string{"", "9", "42", `42[`, `42[5]`, `42["chatMsg",5]`, `42["userlist",{}]`, `42["login","x"]`,
		`42["rank","high"]`, `42["changeMedia",null]`, `43`, `451-["x",{"_placeholder":true,"num":0}]`,
		`42["cooldown",-5]`, `42["pm",[1,2]]`, `42["addUser",{"name":5}]`, `{"name":"chatMsg","args":[]}`, "0not json", `42["chatMsg",{"username":"eve","msg":"<<<&&&","time":"x"}]`,
		// Last: a kick without a reason is still a kick, so the bot reconnects.
		// (needPassword is left out: without a password it is fatal, as the
		// channel password tests check.)
		`42["kick"]`} {
		h.srv.SendRaw([]byte(raw))
	}
	// Lines said while the bot is away are not replayed as commands: wait
	// until it is back before testing that it still works.
	_, at = h.waitState(at+1, protocol.StateReconnecting)
	h.waitState(at+1, protocol.StateConnected)
	for _, body := range [][]byte{[]byte("not json"), []byte(`{"message": 5}`), []byte(`[]`), nil} {
		is.NoErr(h.bus.Publish(context.Background(), protocol.SendChat, body))
		is.NoErr(h.bus.Publish(context.Background(), protocol.SendPM, body))
	}
	h.publish(protocol.SendPM, protocol.SendPMRequest{To: "bad name!", Message: "x"})
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: strings.Repeat("x", 900<<10)}) // huge, just under the NATS payload limit
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "other channel", Channel: "elsewhere"})
	h.srv.Say("test", "alice", "!echo still alive")
	h.waitBotSaid("echo: still alive")
	st := h.conn.Stats()
	is.True(st.BadRequests >= 4)
	is.True(st.MalformedFrames >= 5)
	for _, l := range h.botLines() {
		is.True(l != "other channel")
	}
}

func TestCooldownSlowsPace(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, cytubetest.Fast(), func(c *cytube.Config) { c.Rate, c.Burst = 100, 8 })
	// The connector paces by the rules the channel announces; only rules
	// it cannot see make the server drop a line.
	h.srv.AddChannel("test", cytubetest.ChannelConfig{AntiFlood: true, AntiFloodBurst: 2, AntiFloodSustained: 10, HideAntiFlood: true})
	h.waitState(0, protocol.StateConnected)
	for i := 0; i < 6; i++ {
		h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "flood " + itoa(i)})
	}
	h.waitBotSaid("flood 5") // the last one is resent after the cooldown if it was dropped
	is.True(h.conn.Stats().Cooldowns >= 1)
	// After slowing down, new messages get through.
	h.publish(protocol.SendChat, protocol.SendChatRequest{Message: "after"})
	h.waitBotSaid("after")
}

func TestStartStop(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	bus := newBus(t)
	c, err := cytube.New(bus, testConfig(srv))
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	is.True(errors.Is(c.Stop(ctx), cytube.ErrNotStarted))
	is.NoErr(c.Start(ctx))
	is.True(errors.Is(c.Start(ctx), cytube.ErrAlreadyStarted))
	is.NoErr(srv.WaitUser(ctx, "test", "bot"))
	is.NoErr(c.Stop(ctx))
	is.NoErr(c.Stop(ctx)) // idempotent
	<-c.Done()
	is.Equal(c.State(), protocol.StateDisconnected)
	is.NoErr(c.Err())
}
