package playlist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
)

// Name is the plugin's name.
const Name = "playlist"

// The collections in the plugin's database namespace.
const (
	// PlaysCollection holds one document per item that played.
	PlaysCollection = "plays"
	// MediaCollection holds one document per media and channel: plays,
	// skips, likes, dislikes, when it last played.
	MediaCollection = "media"
	// VotesCollection holds each user's like or dislike of a media.
	VotesCollection = "votes"
	// QueuedCollection remembers who asked for each item the bot queued.
	QueuedCollection = "queued"
)

// QueuedSubject is the plugin's event when it queued an item for someone
// (!add, !random): CyTube names the bot as the one who queued it, so this
// is how other plugins (stats) learn who asked. Only the playlist plugin's
// NATS user may publish under platform.plugin.playlist.
const QueuedSubject = "platform.plugin.playlist.queued"

// QueuedEvent is the payload of QueuedSubject.
type QueuedEvent struct {
	Channel string `json:"channel"`
	// User is who asked for the item.
	User string `json:"user"`
	// Key is CyTube's type and id of the media ("yt:dQw4w9WgXcQ").
	Key string `json:"key"`
}

// maxChannels bounds the channels the plugin keeps state for, whatever
// events name.
const maxChannels = 1000

// AutofillUser is who auto-fill's items are recorded as queued by (no
// CyTube name has parentheses).
const AutofillUser = "(auto-fill)"

// Plugin is the playlist plugin.
type Plugin struct {
	cfg Config
}

// New returns a playlist plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func commands() []plugin.Command {
	return []plugin.Command{
		{Name: "add", Usage: "<link> [next]", Description: "Queues a media link (next: after what plays)", Cooldown: 2 * time.Second},
		{Name: "np", Description: "Tells what plays, who queued it and the time left", Aliases: []string{"nowplaying"}},
		{Name: "queue", Usage: "[n]", Description: "Lists the next n items of the playlist"},
		{Name: "remove", Usage: "[n|mine]", Description: "Removes item n of !queue, your last item, or all yours (moderators: anyone's)"},
		{Name: "skip", Description: "Skips what plays (moderators)", Cooldown: 2 * time.Second},
		{Name: "shuffle", Description: "Shuffles the playlist (moderators)", Cooldown: 5 * time.Second},
		{Name: "bump", Usage: "<n>", Description: "Makes item n of !queue play next (moderators)"},
		{Name: "history", Usage: "[n]", Description: "Lists the last n items that played"},
		{Name: "lastplayed", Usage: "<title words>", Description: "Tells when media with those words in its title last played"},
		{Name: "like", Description: "Likes what plays", Cooldown: time.Second},
		{Name: "dislike", Description: "Dislikes what plays", Cooldown: time.Second},
		{Name: "liked", Usage: "[n]", Description: "Lists the channel's most liked media"},
		{Name: "random", Usage: "[n]", Description: "Queues n well-liked items from the history, not played lately", Cooldown: 5 * time.Second},
		{Name: "blacklist", Usage: "[link]", Description: "Blacklists a link, or what plays and skips it (moderators)"},
		{Name: "unblacklist", Usage: "<link>", Description: "Takes a link off the blacklist (moderators)"},
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Queues media with per-user limits, records what plays, likes, random picks and auto-fill",
		Commands:    commands(),
	}
}

func command(name string) plugin.Command {
	for _, c := range commands() {
		if c.Name == name {
			return c
		}
	}
	return plugin.Command{Name: name}
}

// Start reads the config, loads what the plugin remembers and registers
// the commands and the channel events.
func (p *Plugin) Start(ctx context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	base, err := cfg.compile("")
	if err != nil {
		return err
	}
	s := &server{h: h, db: h.DB(), log: h.Logger(), base: base, chans: map[string]*settings{},
		bots: map[string]string{}, owners: map[string]string{}, playing: map[string]*play{}, discarded: map[string]time.Time{}, banned: map[string]bool{},
		current: map[string]int64{}, lastQueue: map[string]time.Time{}, channels: map[string]bool{}}
	every := time.Duration(base.autofill.Every)
	autofill := base.autofill.Min > 0
	for name := range cfg.Channels {
		in, err := cfg.compile(name)
		if err != nil {
			return fmt.Errorf("%w (in channels.%s)", err, name)
		}
		s.chans[name] = in
		if in.autofill.Min > 0 {
			autofill = true
			every = min(every, time.Duration(in.autofill.Every))
		}
	}
	s.load(ctx)
	s.loadBanned(ctx)
	// One subscription per area keeps each area's events in order (the
	// uid now playing before its media change). Between the two areas
	// there is no order: a play ends at whichever comes first, the
	// deletion of the item playing or the next media change.
	if err := h.Subscribe("cytube.media.>", s.onMedia); err != nil {
		return fmt.Errorf("playlist: subscribe: %w", err)
	}
	if err := h.Subscribe("cytube.playlist.>", s.onPlaylist); err != nil {
		return fmt.Errorf("playlist: subscribe: %w", err)
	}
	for name, fn := range map[string]plugin.CommandHandler{
		"add": s.add, "np": s.nowPlaying, "queue": s.queue, "remove": s.remove, "skip": s.skip,
		"shuffle": s.shuffle, "bump": s.bump, "history": s.history, "lastplayed": s.lastPlayed,
		"like": s.like, "dislike": s.like, "liked": s.liked, "random": s.random,
		"blacklist": s.blacklist, "unblacklist": s.unblacklist,
	} {
		h.Handle(name, fn)
	}
	if autofill {
		h.Every(every, s.autofillTick)
	}
	return nil
}

// Stop has nothing to release: the Host ends the subscriptions and the
// auto-fill schedule. A play in progress stays recorded as playing and is
// completed when the bot is back.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	h     *plugin.Host
	db    *database.Client
	log   *slog.Logger
	base  *settings
	chans map[string]*settings

	// playMu makes starting and ending plays one step at a time (two
	// subscriptions and !skip touch them).
	playMu  sync.Mutex
	playing map[string]*play // by channel
	// discarded are items (channel/uid/media) !add took off again before
	// their play was seen, with when.
	discarded map[string]time.Time

	// banMu makes each change to the blacklist one database write then
	// one change in memory, so that the two agree.
	banMu sync.Mutex
	// voteMu makes the counts of votes one at a time (see countVotes).
	voteMu sync.Mutex

	mu        sync.Mutex
	bots      map[string]string    // the bot's name, by channel
	owners    map[string]string    // who asked the bot to queue a media, by docID
	banned    map[string]bool      // the media blacklisted with !blacklist, by docID
	current   map[string]int64     // the uid CyTube last said plays, by channel
	lastQueue map[string]time.Time // when a person last queued, by channel
	channels  map[string]bool      // the channels seen
}

// in returns the settings of channel.
func (s *server) in(channel string) *settings {
	if c, ok := s.chans[channel]; ok {
		return c
	}
	return s.base
}

// docID is the id of a media's documents in a channel: readable when
// short, hashed when a long raw-file URL would pass the id limit.
func docID(channel, key string) string {
	id := channel + "/" + key
	if len(id) <= 200 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return channel + "/#" + hex.EncodeToString(sum[:16])
}

// load reads who asked for the items on the playlists and the plays in
// progress when the plugin last stopped.
func (s *server) load(ctx context.Context) {
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: QueuedCollection, Limit: database.MaxLimit, NoTotal: true})
	if err != nil {
		s.log.Warn("could not load who queued what", "err", err)
	} else {
		for _, it := range res.Items {
			var q queuedRecord
			if it.Decode(&q) == nil {
				s.owners[docID(q.Channel, q.Key)] = q.User
			}
		}
	}
	res, err = s.db.Query(ctx, database.QueryRequest{Collection: PlaysCollection,
		Filter: database.Filter{"status": statusPlaying}, Sort: []string{"started_at"}, Limit: database.MaxLimit, NoTotal: true})
	if err != nil {
		s.log.Warn("could not load the plays in progress", "err", err)
		return
	}
	for _, it := range res.Items {
		var r playRecord
		if it.Decode(&r) != nil {
			continue
		}
		if old := s.playing[r.Channel]; old != nil { // two open plays: keep the newer
			s.closePlay(ctx, old, s.h.Clock().Now(), "")
		}
		s.playing[r.Channel] = &play{id: it.ID, rec: r, anchor: time.UnixMilli(r.StartedAt)}
	}
}

// queuedRecord remembers who asked the bot to queue a media.
type queuedRecord struct {
	Channel string `json:"channel"`
	Key     string `json:"key"`
	User    string `json:"user"`
	At      int64  `json:"at"`
}

// setOwner records that user asked for the media key in channel.
func (s *server) setOwner(ctx context.Context, channel, key, user string) {
	id := docID(channel, key)
	s.mu.Lock()
	s.owners[id] = user
	s.mu.Unlock()
	rec := queuedRecord{Channel: channel, Key: key, User: user, At: s.h.Clock().Now().UnixMilli()}
	if _, err := s.db.Set(ctx, QueuedCollection, database.StringID(id), rec); err != nil {
		s.log.Warn("could not record who queued an item", "err", err)
	}
	if user != AutofillUser {
		if err := s.h.Bus().Publish(ctx, QueuedSubject, QueuedEvent{Channel: channel, User: user, Key: key}); err != nil {
			s.log.Warn("could not announce who queued an item", "err", err)
		}
	}
}

func (s *server) dropOwner(ctx context.Context, channel, key string) {
	id := docID(channel, key)
	s.mu.Lock()
	_, had := s.owners[id]
	delete(s.owners, id)
	s.mu.Unlock()
	if had {
		if _, err := s.db.Delete(ctx, QueuedCollection, database.StringID(id)); err != nil {
			s.log.Warn("could not forget who queued an item", "err", err)
		}
	}
}

// noteChannel remembers a channel seen in an event; auto-fill waits its
// idle time from then. It reports false for a channel past maxChannels,
// whose events are passed over.
func (s *server) noteChannel(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[channel] {
		return true
	}
	if len(s.channels) >= maxChannels {
		return false
	}
	s.channels[channel] = true
	if _, ok := s.lastQueue[channel]; !ok {
		s.lastQueue[channel] = s.h.Clock().Now()
	}
	return true
}

// noteQueue records that a person queued in channel: auto-fill waits.
func (s *server) noteQueue(channel string) {
	if s.noteChannel(channel) {
		s.mu.Lock()
		s.lastQueue[channel] = s.h.Clock().Now()
		s.mu.Unlock()
	}
}

// likeEscape escapes s for a $like pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// length writes seconds as CyTube does: 3:32, 1:02:03.
func length(seconds float64) string {
	if seconds <= 0 {
		return "live"
	}
	t := int64(seconds + 0.5)
	if t >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%d:%02d", t/60, t%60)
}

// title quotes a media title for chat, cut short.
func title(t string) string { return "“" + plugin.Clip(t, 60) + "”" }

// items writes "1 item", "3 items".
func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}
