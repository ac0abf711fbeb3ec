package cytubetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/cytubetest"
)

func TestClientChatsPMsAndStaysConnected(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Say("lobby", "old", "history before the join")
	alice, err := srv.Dial(ctx, "lobby", "alice")
	is.NoErr(err)
	defer alice.Close()
	bob, err := srv.Dial(ctx, "lobby", "bob")
	is.NoErr(err)
	defer bob.Close()
	is.Equal(alice.Name(), "alice")

	// Longer than the ping interval and timeout: the client answers pings.
	time.Sleep(1500 * time.Millisecond)
	is.NoErr(bob.Chat("still here"))
	m, err := alice.WaitChat(ctx, func(m cytubetest.Message) bool { return m.From == "bob" })
	is.NoErr(err)
	is.Equal(m.HTML, "still here")
	is.Equal(m.Channel, "lobby")

	is.NoErr(alice.PM("bob", "psst"))
	m, err = bob.WaitChat(ctx, func(m cytubetest.Message) bool { return m.To == "bob" })
	is.NoErr(err)
	is.Equal(m.From, "alice")
	is.Equal(m.HTML, "psst")

	// The server saw both users the whole time ("old" was put there by Say).
	is.Equal(len(srv.Users("lobby")), 3)
}

func TestClientSeesTheConnectionEnd(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.Dial(ctx, "lobby", "carol")
	is.NoErr(err)
	defer c.Close()
	is.True(srv.Kick("lobby", "carol", "bye"))
	for {
		_, err := c.Next(ctx)
		if err != nil {
			is.True(errors.Is(err, cytubetest.ErrClientClosed))
			break
		}
	}
	is.True(c.Chat("anyone?") != nil)
}

func TestDialRefusedName(t *testing.T) {
	is := is.New(t)
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddAccount("admin", "secret", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := srv.Dial(ctx, "lobby", "admin")
	is.True(err != nil) // a registered name needs its password
}
