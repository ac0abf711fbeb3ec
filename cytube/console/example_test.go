package console_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube/console"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/protocol"
)

// The console turns each input line into a cytube.chat event ("/pm …"
// into cytube.pm) and prints what the bot sends. Here a stand-in bot
// answers every line; a real one is rosey.Bot with Console.Enabled.
func ExampleNew() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)

	// The stand-in bot: chat is answered in chat, a PM by PM.
	_, _ = bus.Subscribe("cytube.*", func(ctx context.Context, ev *eventbus.Event) {
		var m protocol.ChatMessage
		if ev.Decode(&m) != nil {
			return
		}
		if ev.Subject == protocol.PM {
			_ = bus.Publish(ctx, protocol.SendPM, protocol.SendPMRequest{To: m.User, Message: "psst, " + m.Message})
			return
		}
		if ev.Subject == protocol.Chat {
			_ = bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: fmt.Sprintf("%s (rank %v) said %q", m.User, m.Rank, m.Message)})
		}
	})

	var out bytes.Buffer
	c, err := console.New(bus, console.Config{
		User: "alice",
		Rank: protocol.RankModerator,
		In:   strings.NewReader("hello there\n/pm a secret\n/quit\nnever read\n"),
		Out:  &out,
		Idle: 500 * time.Millisecond, // wait this long for late answers after the input ends
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	<-c.Done() // input ended and the answers arrived
	_ = c.Stop(ctx)
	fmt.Print(out.String())
	// Unordered output:
	// rosey> alice (rank 2) said "hello there"
	// rosey (pm to alice)> psst, a secret
}
