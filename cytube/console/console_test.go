package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/logtest"
	"github.com/roseybot/rosey/protocol"
)

func newBus(t *testing.T) *eventbus.Bus {
	t.Helper()
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := eventbus.Connect(ctx, srv.BusConfig(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close(ctx); _ = srv.Shutdown(ctx) })
	return bus
}

// run feeds input to a console and returns the chat events it published
// and what it printed, once the input has ended.
func run(t *testing.T, cfg console.Config, input string) ([]protocol.ChatMessage, string) {
	t.Helper()
	bus := newBus(t)
	var mu sync.Mutex
	var got []protocol.ChatMessage
	_, err := bus.Subscribe(protocol.Chat, func(_ context.Context, ev *eventbus.Event) {
		var m protocol.ChatMessage
		if ev.Decode(&m) == nil {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	out := &logtest.Buffer{}
	cfg.In, cfg.Out, cfg.Idle = strings.NewReader(input), out, 300*time.Millisecond
	c, err := console.New(bus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not end with its input")
	}
	_ = c.Stop(context.Background())
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got, out.String()
}

// A line longer than the console reads is cut, with a notice, and the
// lines after it are read as usual.
func TestLongLineIsCutAndReadingGoesOn(t *testing.T) {
	is := is.New(t)
	long := strings.Repeat("é", 100*1024) // 200 KiB, two bytes a rune
	got, out := run(t, console.Config{}, "before\n"+long+"\nafter\n")
	is.Equal(len(got), 3)
	is.Equal(got[0].Message, "before")
	is.Equal(got[2].Message, "after")
	is.True(len(got[1].Message) <= console.MaxLine)
	is.True(len(got[1].Message) > console.MaxLine-4)
	is.True(strings.HasPrefix(long, got[1].Message)) // cut between runes
	is.True(strings.Contains(out, "cut"))
}

// Rank is a plain number; zero is the default (an admin) unless Guest.
func TestRankIsEasyToSet(t *testing.T) {
	is := is.New(t)
	got, _ := run(t, console.Config{Rank: protocol.RankModerator}, "hi\n")
	is.Equal(got[0].Rank, float64(protocol.RankModerator))
	got, _ = run(t, console.Config{}, "hi\n")
	is.Equal(got[0].Rank, float64(console.DefaultRank))
	got, _ = run(t, console.Config{Guest: true, Rank: 2}, "hi\n")
	is.Equal(got[0].Rank, 0.0)

	// In JSON, "rank": 0 still means a guest.
	var cfg console.Config
	is.NoErr(json.Unmarshal([]byte(`{"rank": 0}`), &cfg))
	is.True(cfg.Guest)
	is.NoErr(json.Unmarshal([]byte(`{"rank": 2, "user": "bob"}`), &cfg))
	is.Equal(cfg.Rank, 2.0)
	is.Equal(cfg.User, "bob")
}

// The console answers the channel's state requests with what it has and
// refuses its actions at once: plugins that work the channel hear so
// instead of waiting for a connector that is not there.
func TestStateAndActionRequests(t *testing.T) {
	is := is.New(t)
	bus := newBus(t)
	in, inW := io.Pipe()
	t.Cleanup(func() { _ = inW.Close() })
	c, err := console.New(bus, console.Config{In: in, Out: io.Discard, User: "ann"})
	is.NoErr(err)
	ctx := context.Background()
	is.NoErr(c.Start(ctx))
	t.Cleanup(func() { _ = c.Stop(ctx) })

	cl := client.New(bus, "")
	users, err := cl.Users(ctx)
	is.NoErr(err)
	is.Equal(len(users), 2)
	is.Equal(users[0].Name, "ann")
	is.Equal(users[0].Rank, float64(console.DefaultRank))
	poll, err := cl.Poll(ctx)
	is.NoErr(err)
	is.True(poll == nil)
	pl, err := cl.Playlist(ctx)
	is.NoErr(err)
	is.Equal(len(pl.Items), 0)

	// Its figures count the lines read and written.
	said := make(chan struct{}, 4)
	sub, err := bus.Subscribe(protocol.Chat, func(context.Context, *eventbus.Event) { said <- struct{}{} })
	is.NoErr(err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	is.NoErr(bus.Flush(ctx))
	_, err = io.WriteString(inW, "hello\nagain\n")
	is.NoErr(err)
	for range 2 {
		select {
		case <-said:
		case <-time.After(10 * time.Second):
			t.Fatal("the console's lines were not published")
		}
	}
	is.NoErr(bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: "hi ann"}))
	var st protocol.ConnectorStats
	for deadline := time.Now().Add(10 * time.Second); st.MessagesOut == 0; { // printed by another subscription
		if time.Now().After(deadline) {
			t.Fatal("the send was never counted")
		}
		st, err = cl.Connector(ctx)
		is.NoErr(err)
	}
	is.Equal(st.State, protocol.StateConnected)
	is.Equal(st.MessagesIn, uint64(2))
	is.Equal(st.MessagesOut, uint64(1))

	err = cl.Kick(ctx, "ann", "test")
	is.True(errors.Is(err, client.ErrNotSupported))
	is.True(strings.Contains(err.Error(), "no playlist, polls or moderation"))
	_, err = cl.Queue(ctx, "https://youtu.be/dQw4w9WgXcQ", client.QueueOptions{})
	is.True(errors.Is(err, client.ErrNotSupported))

	// Another channel's requests are not the console's to answer.
	other := client.New(bus, "lounge")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = other.Users(short)
	is.True(err != nil && !errors.Is(err, client.ErrNotSupported))
}
