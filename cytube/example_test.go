package cytube_test

import (
	"context"
	"fmt"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/protocol"
)

// A bot that answers "!ping" in a channel of a fake CyTube server.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ns, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown(ctx)
	bus, err := eventbus.Connect(ctx, ns.BusConfig("example"))
	if err != nil {
		panic(err)
	}
	defer bus.Close(ctx)

	// A tiny plugin: it only talks to the bus.
	_, _ = bus.Subscribe(protocol.Chat, func(ctx context.Context, ev *eventbus.Event) {
		var m protocol.ChatMessage
		if ev.Decode(&m) == nil && m.Message == "!ping" {
			_ = bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: "pong, " + m.User})
		}
	})

	conn, err := cytube.New(bus, cytube.Config{Server: srv.URL, Channel: "lobby", User: "rosey"})
	if err != nil {
		panic(err)
	}
	if err := conn.Start(ctx); err != nil {
		panic(err)
	}
	defer conn.Stop(ctx)

	_ = srv.WaitUser(ctx, "lobby", "rosey")
	srv.Say("lobby", "alice", "!ping")
	reply, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "rosey" })
	if err != nil {
		panic(err)
	}
	fmt.Println(reply.HTML)
	// Output: pong, alice
}

func ExampleNew_invalidConfig() {
	_, err := cytube.New(&eventbus.Bus{}, cytube.Config{Channel: "my channel!", User: "rosey"})
	fmt.Println(err)
	// Output: cytube: invalid config: channel: "my channel!" must be 1-30 characters of a-z, A-Z, 0-9, - or _
}

func ExampleConfig_FromLookup() {
	env := map[string]string{cytube.EnvPassword: "s3cret"}
	cfg := cytube.Config{Channel: "lobby", User: "rosey"}
	cfg.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(cfg.Password != "", cfg.ChannelPassword == "")
	// Output: true true
}

func ExamplePlainText() {
	fmt.Println(cytube.PlainText(`see <a href="https://x.example/?a=1&amp;b=2">https://x.example/?a=1&amp;b=2</a> &lt;3`))
	// Output: see https://x.example/?a=1&b=2 <3
}

func ExampleSplitMessage() {
	parts, cut := cytube.SplitMessage("first line\n/not a command, just text", 20, 8)
	for _, p := range parts {
		fmt.Printf("%q\n", p)
	}
	fmt.Println(cut)
	// Output:
	// "first line"
	// "\u200b/not a command,"
	// "just text"
	// false
}

func ExampleMediaURL() {
	fmt.Println(cytube.MediaURL("yt", "dQw4w9WgXcQ"))
	fmt.Println(cytube.MediaURL("pt", "video.example;1234-abcd"))
	// Output:
	// https://youtu.be/dQw4w9WgXcQ
	// https://video.example/videos/watch/1234-abcd
}
