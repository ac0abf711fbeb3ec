package trivia_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/trivia"
	"github.com/roseybot/rosey/protocol"
)

// TestFollowsChatOnlyDuringAGame: the plugin's connection receives the
// channel's chat while a game runs, and none of it otherwise (in a process
// of its own, every line would cost it a network round for nothing).
func TestFollowsChatOnlyDuringAGame(t *testing.T) {
	is := is.New(t)
	srv := natstest.StartServer(t)
	bus := natstest.Connect(t, srv, "trivia")
	channel := natstest.Connect(t, srv, "connector")
	ctx := context.Background()
	said := make(chan string, 16)
	sub, err := channel.Subscribe(protocol.SendChat, func(_ context.Context, ev *eventbus.Event) {
		var m protocol.SendChatRequest
		if ev.Decode(&m) == nil {
			said <- m.Message
		}
	})
	is.NoErr(err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	svc, err := dbservice.Start(ctx, natstest.Connect(t, srv, "database"), dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	in, err := plugin.Run(ctx, trivia.New(config(time.Hour)), bus, plugin.RunConfig{DB: database.NewClient(bus)})
	is.NoErr(err)
	t.Cleanup(func() { _ = in.Stop(context.Background()) })

	// received says how many messages the plugin's connection has taken
	// in, once everything published so far has reached it.
	received := func() uint64 {
		t.Helper()
		is.NoErr(channel.Flush(ctx))
		is.NoErr(bus.Flush(ctx))
		return bus.Conn().Stats().InMsgs
	}
	chat := func(n int, text string) {
		t.Helper()
		for range n {
			is.NoErr(channel.Publish(ctx, protocol.Chat, protocol.ChatMessage{User: "bob", Message: text, Channel: "room"}))
		}
	}
	command := func(args ...string) {
		t.Helper()
		_, err := channel.Request(ctx, protocol.PluginCommand(trivia.Name),
			plugin.Request{Command: "trivia", Args: args, User: "alice", Channel: "room", Rank: protocol.RankModerator})
		is.NoErr(err)
	}

	before := received()
	chat(20, "just chatting")
	is.Equal(received(), before) // no game: no chat delivered

	command("start", "1", "test")
	question := ""
	for !strings.HasPrefix(question, "❓") {
		question = natstest.Receive(t, said)
	}
	before = received()
	chat(3, "a wrong guess")
	is.Equal(received(), before+3) // a game: chat delivered
	chat(1, answers[strings.TrimSpace(question[strings.LastIndex(question, ")")+1:])].right)
	for got := ""; !strings.Contains(got, "bob"); {
		got = natstest.Receive(t, said) // the right answer was heard in chat
	}

	// The one-question game is over: chat stops coming.
	deadline := time.Now().Add(natstest.Wait)
	for {
		before = received()
		chat(5, "after the game")
		if received() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chat still delivered after the game ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
