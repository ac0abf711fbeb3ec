package roseytest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// nowPlaying answers !np from the channel's state.
type nowPlaying struct{}

func (nowPlaying) Info() plugin.Info {
	return plugin.Info{Name: "np", Version: "1.0.0", Description: "What plays", Commands: []plugin.Command{{Name: "np", Description: "Now playing"}}}
}

func (nowPlaying) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("np", func(ctx context.Context, req *plugin.Request) (string, error) {
		m, err := client.New(h.Bus(), req.Channel).Media(ctx)
		if err != nil {
			return "", err
		}
		if m.Item == nil {
			return "Nothing plays.", nil
		}
		return fmt.Sprintf("Now playing: %s (queued by %s)", m.Item.Title, m.Item.QueuedBy), nil
	})
	return nil
}

func (nowPlaying) Stop(context.Context) error { return nil }

func TestCyTubeChannelState(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(nowPlaying{}))
	srv := h.CyTube()
	h.Say("alice", "!np")
	h.Expect("Nothing plays.")
	queued := make(chan struct{}, 1)
	if _, err := h.Bus().Subscribe(protocol.MediaCurrent, func(context.Context, *eventbus.Event) { queued <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := h.Bus().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Queue(roseytest.Channel, "carol", cytubetest.Media{Type: "yt", ID: "dQw4w9WgXcQ", Title: "Never", Seconds: 212}, false)
	select { // the connector has seen the item start
	case <-queued:
	case <-time.After(20 * time.Second):
		t.Fatal("the item never started")
	}
	h.Say("alice", "!np")
	h.Expect("Now playing: Never (queued by carol)")
}
