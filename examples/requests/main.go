// Command requests is a Rosey plugin that works the CyTube playlist over
// NATS: !request <link> (alias !req) queues a link, and every item someone
// else adds is announced in the channel. It uses the channel subjects of
// docs/PROTOCOL.md §9 through the typed helpers of package cytube/client,
// so it runs the same inside the bot and as a process of its own. (The
// built-in playlist plugin, plugins/playlist, is the full one: !add with
// limits, history, likes; this example shows the parts in a page.)
//
// # Running it
//
// Start a bot in a CyTube channel (its embedded NATS server listens on
// 127.0.0.1:4222), then the plugin:
//
//	go run ./cmd/rosey run -config rosey.json
//	go run ./examples/requests
//
// In the channel, type !request https://youtu.be/dQw4w9WgXcQ. The bot answers
// with CyTube's outcome: the title and place of the new item, or CyTube's
// own refusal ("This item is already on the playlist"), or why the bot may
// not add (its rank is below the channel's playlistadd permission). When a
// user adds something through CyTube's page, the bot says so.
//
// plugin.Serve reads the usual flags (-nats, -user, -password, -creds,
// -prefix…; see examples/external-plugin). With NATS permissions per
// plugin, this one needs to publish on cytube.do.playlist.queue,
// cytube.state.bot and cytube.send.chat, and to subscribe to
// cytube.playlist.queued.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

func main() {
	if err := plugin.Serve(&playlist{}); err != nil {
		log.Fatal(err)
	}
}

// playlist is the plugin.
type playlist struct {
	mu   sync.Mutex
	bots map[string]string // the bot's name per channel, once known
}

func (p *playlist) Info() plugin.Info {
	return plugin.Info{
		Name:        "song-requests",
		Version:     "1.0.0",
		Description: "Queues links and announces new playlist items",
		Commands: []plugin.Command{{
			Name:        "request",
			Usage:       "<link>",
			Description: "Adds a video or stream to the playlist",
			Aliases:     []string{"req"},
		}},
	}
}

func (p *playlist) Start(_ context.Context, h *plugin.Host) error {
	p.bots = map[string]string{}
	h.Handle("request", func(ctx context.Context, req *plugin.Request) (string, error) {
		if len(req.Args) != 1 {
			return "", plugin.Usage(p.Info().Commands[0])
		}
		c := client.New(h.Bus(), req.Channel)
		item, err := c.Queue(ctx, req.Args[0], client.QueueOptions{})
		if err != nil {
			return "", explain(err)
		}
		where := ""
		if pl, err := c.Playlist(ctx); err == nil {
			for i, it := range pl.Items {
				if it.UID == item.UID {
					where = fmt.Sprintf(" (#%d of %d)", i+1, len(pl.Items))
				}
			}
		}
		return fmt.Sprintf("🎵 Added “%s”%s", item.Title, where), nil
	})
	return h.Subscribe(protocol.PlaylistQueued, func(ctx context.Context, ev *eventbus.Event) {
		var q protocol.PlaylistQueuedEvent
		if ev.Decode(&q) != nil {
			return
		}
		// The bot's own additions were answered by !add already.
		if bot := p.botName(ctx, h, q.Channel); bot != "" && protocol.SameUser(bot, q.QueuedBy) {
			return
		}
		msg := fmt.Sprintf("🎶 New on the playlist: “%s” (%s), added by %s", q.Item.Title, length(q.Item.Duration), q.QueuedBy)
		if err := h.Bus().Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: msg, Channel: q.Channel}); err != nil {
			h.Logger().Warn("announce", "err", err)
		}
	})
}

func (p *playlist) Stop(context.Context) error { return nil }

// botName asks the connector who the bot is in channel, once.
func (p *playlist) botName(ctx context.Context, h *plugin.Host, channel string) string {
	p.mu.Lock()
	name, ok := p.bots[channel]
	p.mu.Unlock()
	if ok {
		return name
	}
	b, err := client.New(h.Bus(), channel).Bot(ctx)
	if err != nil || b.Name == "" {
		return ""
	}
	p.mu.Lock()
	p.bots[channel] = b.Name
	p.mu.Unlock()
	return b.Name
}

// explain turns a client error into what the user reads.
func explain(err error) error {
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrRefused):
		return plugin.UserError("❌ CyTube says: %s", err)
	case errors.Is(err, client.ErrPermission):
		return plugin.UserError("⛔ I may not do that here: %s", err)
	case errors.Is(err, client.ErrBadRequest):
		return plugin.UserError("❌ That is not a link I can queue: %s", strings.TrimPrefix(err.Error(), "medialink: "))
	case errors.Is(err, client.ErrRateLimited):
		return plugin.UserError("⏳ %s", err)
	case errors.As(err, &ce):
		return plugin.UserError("⚠️ %s", err)
	}
	return err
}

// length formats seconds as m:ss or h:mm:ss; 0 is live.
func length(sec float64) string {
	s := int(sec)
	switch {
	case s == 0:
		return "live"
	case s >= 3600:
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
