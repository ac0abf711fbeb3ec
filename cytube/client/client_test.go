package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/protocol"
)

const wait = 20 * time.Second

// start runs a fake CyTube server, a NATS server and a connector for the
// bot "bot" in channel "test", and returns the bus and server once the
// bot is in.
func start(t *testing.T, cc cytubetest.ChannelConfig, edit func(*cytube.Config)) (*eventbus.Bus, *cytubetest.Server) {
	t.Helper()
	srv := cytubetest.NewServer(cytubetest.Fast())
	t.Cleanup(srv.Close)
	srv.AddChannel("test", cc)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ns, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := eventbus.Connect(ctx, ns.BusConfig(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cytube.Config{Server: srv.URL, Channel: "test", User: "bot", BackoffMin: 20 * time.Millisecond, ConnectInterval: 20 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	conn, err := cytube.New(bus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = conn.Stop(ctx)
		_ = bus.Close(ctx)
		_ = ns.Shutdown(ctx)
	})
	if err := srv.WaitUser(ctx, "test", "bot"); err != nil {
		t.Fatal(err)
	}
	for conn.State() != protocol.StateConnected { // the user list is in
		time.Sleep(5 * time.Millisecond)
	}
	return bus, srv
}

func TestClientActionsAndState(t *testing.T) {
	is := is.New(t)
	bus, srv := start(t, cytubetest.ChannelConfig{}, nil)
	srv.AddMedia(cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never", Seconds: 212})
	srv.Join("test", "alice", 0)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := client.New(bus, "test")

	it, err := c.Queue(ctx, "https://youtu.be/dQw4w9WgXcQ", client.QueueOptions{Temp: true})
	is.NoErr(err)
	is.Equal(it.Title, "Never")
	is.True(it.Temp)
	_, err = c.Queue(ctx, "yt:dQw4w9WgXcQ", client.QueueOptions{})
	is.True(errors.Is(err, client.ErrRefused))
	is.Equal(err.Error(), "This item is already on the playlist")
	var ce *client.Error
	is.True(errors.As(err, &ce))
	is.Equal(ce.Code, protocol.CodeRefused)

	live, err := c.QueueMedia(ctx, "hl", "https://example.com/live.m3u8", client.QueueOptions{Next: true})
	is.NoErr(err)
	p, err := c.Playlist(ctx)
	is.NoErr(err)
	is.Equal(len(p.Items), 2)
	is.Equal(p.Items[1].UID, live.UID) // next: after the one playing
	is.NoErr(c.MoveFirst(ctx, live.UID))
	p, err = c.Playlist(ctx)
	is.NoErr(err)
	is.Equal(p.Items[0].UID, live.UID)
	is.NoErr(c.Jump(ctx, live.UID))
	m, err := c.Media(ctx)
	is.NoErr(err)
	is.Equal(m.UID, live.UID)
	is.True(errors.Is(c.Delete(ctx, 9999), client.ErrNotFound))

	us, err := c.Users(ctx)
	is.NoErr(err)
	is.Equal(len(us), 2)
	b, err := c.Bot(ctx)
	is.NoErr(err)
	is.Equal(b.Name, "bot")

	is.NoErr(c.OpenPoll(ctx, client.PollOptions{Title: "Q", Options: []string{"a", "b"}, Timeout: time.Minute}))
	is.NoErr(c.Vote(ctx, 0))
	poll, err := c.Poll(ctx)
	is.NoErr(err)
	is.Equal(poll.Counts, []int{1, 0})
	is.NoErr(c.ClosePoll(ctx))
	poll, err = c.Poll(ctx)
	is.NoErr(err)
	is.Equal(poll, (*protocol.Poll)(nil))

	// Unregistered channels allow nobody to kick.
	err = c.Kick(ctx, "alice", "")
	is.True(errors.Is(err, client.ErrPermission))
	_, err = c.Permissions(ctx)
	is.NoErr(err)
}

func TestClientWrongChannelTimesOut(t *testing.T) {
	is := is.New(t)
	bus, _ := start(t, cytubetest.ChannelConfig{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := client.New(bus, "elsewhere").Users(ctx)
	is.True(err != nil)
	var ce *client.Error
	is.True(!errors.As(err, &ce)) // no connector answered: a bus error, not a refusal
}

// An action whose connection drops after it was sent fails with
// ErrUnknownOutcome, which a caller tells apart from ErrNotConnected
// (never sent).
func TestActionLostWithTheConnection(t *testing.T) {
	is := is.New(t)
	bus, srv := start(t, cytubetest.ChannelConfig{}, func(c *cytube.Config) { c.ActionTimeout = 15 * time.Second })
	uid := srv.Queue("test", "alice", cytubetest.Media{Type: "hl", ID: "https://example.com/a.m3u8", Title: "A"}, false)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := client.New(bus, "test")
	for known := false; !known; { // the connector has seen the item
		p, err := c.Playlist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		known = len(p.Items) == 1 && p.Items[0].UID == int64(uid)
		if !known {
			time.Sleep(5 * time.Millisecond)
		}
	}
	srv.Hold("delete")
	done := make(chan error, 1)
	go func() { done <- c.Delete(ctx, int64(uid)) }()
	if _, err := srv.WaitFrame(ctx, func(f cytubetest.Frame) bool { return f.Event == "delete" }); err != nil {
		t.Fatal(err)
	}
	srv.DropAll() // the held delete is lost with the connection
	srv.Release()
	err := <-done
	is.True(errors.Is(err, client.ErrUnknownOutcome))
	is.True(!errors.Is(err, client.ErrNotConnected))
}
