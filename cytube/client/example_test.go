package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/protocol"
)

// A bot in a channel of the fake CyTube server; the client queues a link
// and reads the playlist back, over NATS.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.AddMedia(cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never Gonna Give You Up", Seconds: 212})
	ns, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer ns.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, ns.BusConfig("example"))
	defer bus.Close(ctx)
	conn, _ := cytube.New(bus, cytube.Config{Server: srv.URL, Channel: "lounge", User: "RoseyBot"})
	_ = conn.Start(ctx)
	defer conn.Stop(ctx)
	for conn.State() != protocol.StateConnected {
		time.Sleep(10 * time.Millisecond)
	}

	lounge := client.New(bus, "lounge")
	item, err := lounge.Queue(ctx, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", client.QueueOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("queued %q (%.0f s) as uid %d\n", item.Title, item.Duration, item.UID)

	_, err = lounge.Queue(ctx, "https://youtu.be/dQw4w9WgXcQ", client.QueueOptions{})
	fmt.Println(errors.Is(err, client.ErrRefused), err)

	p, _ := lounge.Playlist(ctx)
	fmt.Println(len(p.Items), "item(s); playing uid", *p.Current)
	// Output:
	// queued "Never Gonna Give You Up" (212 s) as uid 0
	// true This item is already on the playlist
	// 1 item(s); playing uid 0
}
