package playlist

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/protocol"
)

// maxSeconds bounds a position or length taken from an event (a week).
const maxSeconds = 7 * 24 * 3600

const (
	statusPlaying = "playing"
	statusPlayed  = "played"
)

// playRecord is one item that played (PlaysCollection).
type playRecord struct {
	Channel   string  `json:"channel"`
	Key       string  `json:"key"` // type:id
	Title     string  `json:"title"`
	Type      string  `json:"type"`
	MediaID   string  `json:"mid"`
	URL       string  `json:"url"`
	Duration  float64 `json:"duration"` // seconds, 0 for live
	QueuedBy  string  `json:"queued_by"`
	UID       int64   `json:"uid"`
	StartedAt int64   `json:"started_at"` // ms since the epoch
	EndedAt   int64   `json:"ended_at,omitempty"`
	Played    float64 `json:"played"` // seconds it played, pauses left out
	Skipped   bool    `json:"skipped"`
	SkippedBy string  `json:"skipped_by,omitempty"`
	Status    string  `json:"status"` // playing or played
}

// mediaRecord is what the plugin knows of one media in a channel
// (MediaCollection).
type mediaRecord struct {
	Channel    string  `json:"channel"`
	Key        string  `json:"key"`
	Title      string  `json:"title"`
	Type       string  `json:"type"`
	MediaID    string  `json:"mid"`
	URL        string  `json:"url"`
	Duration   float64 `json:"duration"`
	Plays      int     `json:"plays"`
	Skips      int     `json:"skips"`
	Likes      int     `json:"likes"`
	Dislikes   int     `json:"dislikes"`
	Score      int     `json:"score"` // likes - dislikes
	LastPlayed int64   `json:"last_played"`
	LastBy     string  `json:"last_by"`
}

// play is the item playing in a channel. anchor is when it was (or
// would have been, given its position) at 0 seconds: CyTube's positions
// move it, so pauses and seeks are not counted as time played.
type play struct {
	id        database.ID
	rec       playRecord
	anchor    time.Time
	paused    bool
	pos       float64 // seconds, while paused
	skippedBy string
}

func mediaSet(channel string, m protocol.MediaItem) map[string]any {
	return map[string]any{"channel": channel, "key": m.Type + ":" + m.ID, "title": m.Title, "type": m.Type,
		"mid": m.ID, "url": m.URL, "duration": m.Duration}
}

// onMedia follows what plays: a new item starts a play (and ends the
// one before), pauses are left out of the time played.
func (s *server) onMedia(ctx context.Context, ev *eventbus.Event) {
	switch ev.Subject {
	case protocol.MediaCurrent:
		var e protocol.MediaCurrentEvent
		if ev.Decode(&e) != nil {
			return
		}
		if !s.noteChannel(e.Channel) {
			return
		}
		s.mu.Lock()
		s.current[e.Channel] = e.UID
		s.mu.Unlock()
	case protocol.MediaChange:
		var e protocol.MediaChangeEvent
		if err := ev.Decode(&e); err != nil || e.Type == "" || len(e.Title) > 4096 || e.Duration < 0 || e.Duration > maxSeconds {
			s.log.Warn("malformed media change", "err", err)
			return
		}
		if !s.noteChannel(e.Channel) {
			return
		}
		s.mu.Lock()
		uid, ok := s.current[e.Channel]
		s.mu.Unlock()
		if !ok {
			uid = -1
		}
		item := protocol.MediaItem{UID: uid, Title: e.Title, Type: e.Type, ID: e.ID, URL: e.URL, Duration: e.Duration}
		s.startPlay(ctx, e.Channel, item, e.Time)
	case protocol.MediaPosition:
		var e protocol.MediaPositionEvent
		if ev.Decode(&e) != nil {
			return
		}
		// A time of 0 or less is CyTube's lead-in (or a join's report
		// of an item whose time the server does not know): the clock
		// counts from the start.
		if e.Time <= 0 || e.Time > maxSeconds {
			return
		}
		now := s.h.Clock().Now()
		s.playMu.Lock()
		defer s.playMu.Unlock()
		if p := s.playing[e.Channel]; p != nil && p.rec.UID == e.UID {
			p.anchor = now.Add(-duration(e.Time))
			p.paused, p.pos = e.Paused, e.Time
		}
	}
}

// onPlaylist notes people queueing (auto-fill waits for them), ends the
// play of an item deleted while it plays, and forgets who asked for an
// item once it is off the playlist.
func (s *server) onPlaylist(ctx context.Context, ev *eventbus.Event) {
	switch ev.Subject {
	case protocol.PlaylistSnapshot:
		var e protocol.PlaylistSnapshotEvent
		if ev.Decode(&e) != nil || !s.noteChannel(e.Channel) {
			return
		}
		// CyTube sends the whole list again when it is cleared (nothing
		// plays then, and no media change says so) or shuffled: an item
		// playing that is not on it any more has stopped. A shuffle
		// lists it first under a new uid, and its media change says
		// whether it goes on (startPlay).
		s.playMu.Lock()
		if p := s.playing[e.Channel]; p != nil && p.rec.UID >= 0 && !listed(e.Items, p) && !shuffled(e.Items, p) && !s.stillListed(ctx, p) {
			s.closePlay(ctx, p, s.h.Clock().Now(), "")
		}
		s.playMu.Unlock()
	case protocol.PlaylistQueued:
		var e protocol.PlaylistQueuedEvent
		if ev.Decode(&e) != nil {
			return
		}
		if !s.noteChannel(e.Channel) {
			return
		}
		if bot := s.botName(ctx, e.Channel); bot == "" || !protocol.SameUser(bot, e.Item.QueuedBy) {
			s.noteQueue(e.Channel)
			s.peopleFirst(ctx, client.New(s.h.Bus(), e.Channel), e.Item.UID)
		}
	case protocol.PlaylistDeleted:
		var e protocol.PlaylistDeletedEvent
		if ev.Decode(&e) != nil {
			return
		}
		s.playMu.Lock()
		if p := s.playing[e.Channel]; p != nil && p.rec.UID == e.UID {
			s.closePlay(ctx, p, s.h.Clock().Now(), "")
		}
		s.playMu.Unlock()
		if e.Item != nil {
			if bot := s.botName(ctx, e.Channel); bot != "" && protocol.SameUser(bot, e.Item.QueuedBy) {
				s.dropOwner(ctx, e.Channel, e.Item.Type+":"+e.Item.ID)
			}
		}
	}
}

// listed reports whether items hold the item of p (by its uid).
func listed(items []protocol.MediaItem, p *play) bool {
	return slices.ContainsFunc(items, func(it protocol.MediaItem) bool { return it.UID == p.rec.UID })
}

// shuffled reports whether items start with the media of p under another
// uid: CyTube's shuffle puts the item playing first, with a new uid.
func shuffled(items []protocol.MediaItem, p *play) bool {
	return len(items) > 0 && items[0].UID != p.rec.UID && items[0].Type+":"+items[0].ID == p.rec.Key
}

// stillListed reports whether the connector's playlist holds the item of p
// now. A snapshot can be older than the media change that started p: the
// two come by separate subscriptions, and the empty playlist of the bot's
// join may be handled after the first item queued began to play. The
// connector's playlist is at least as new as that change. When it cannot
// be had, the snapshot is taken at its word.
func (s *server) stillListed(ctx context.Context, p *play) bool {
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	snap, err := client.New(s.h.Bus(), p.rec.Channel).Playlist(sctx)
	return err == nil && listed(snap.Items, p)
}

// botName returns the bot's name in channel, asking the connector once.
func (s *server) botName(ctx context.Context, channel string) string {
	s.mu.Lock()
	name, ok := s.bots[channel]
	s.mu.Unlock()
	if ok {
		return name
	}
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	b, err := client.New(s.h.Bus(), channel).Bot(sctx)
	if err != nil || b.Name == "" {
		return ""
	}
	s.mu.Lock()
	s.bots[channel] = b.Name
	s.mu.Unlock()
	return b.Name
}

// ownerOf returns who queued it: the person who asked the bot, or whoever
// queued it in CyTube's page; the bot's name when nobody asked.
func (s *server) ownerOf(ctx context.Context, channel string, it protocol.MediaItem) string {
	bot := s.botName(ctx, channel)
	if bot == "" || !protocol.SameUser(bot, it.QueuedBy) {
		return it.QueuedBy
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.owners[docID(channel, it.Type+":"+it.ID)]; ok {
		return u
	}
	return it.QueuedBy
}

// startPlay records the item that began to play in channel, at seconds
// into it, and ends the one before. The same item again (same uid, same
// media) is the bot joining again, and its play goes on, unless it has
// played to its end or was skipped: CyTube plays the only item of a
// playlist again, from the start. The same media under another uid,
// resumed past its start, is CyTube's shuffle (every item gets a new uid,
// the one playing goes on where it was): its play goes on, under the new
// uid.
func (s *server) startPlay(ctx context.Context, channel string, it protocol.MediaItem, at float64) {
	now := s.h.Clock().Now()
	key := it.Type + ":" + it.ID
	s.playMu.Lock()
	defer s.playMu.Unlock()
	if p := s.playing[channel]; p != nil {
		again := p.skippedBy != "" || p.rec.Duration > 0 && !p.paused && now.Sub(p.anchor) >= duration(p.rec.Duration)
		if p.rec.UID == it.UID && p.rec.Key == key && !again {
			return
		}
		if p.rec.UID != it.UID && p.rec.Key == key && at > 0 && it.UID >= 0 {
			p.rec.UID = it.UID
			if !p.id.IsZero() {
				if err := s.db.Update(ctx, PlaysCollection, p.id, database.Update{Set: map[string]any{"uid": it.UID}}, nil); err != nil {
					s.log.Warn("could not record a play's new uid", "err", err)
				}
			}
			return
		}
		s.closePlay(ctx, p, now, "")
	}
	if at, ok := s.discarded[discardKey(channel, it.UID, key)]; ok {
		delete(s.discarded, discardKey(channel, it.UID, key))
		if now.Sub(at) < discardedFor {
			return
		}
	}
	// Who queued it: the playlist says, by uid.
	queuedBy := ""
	sctx, cancel := chanwords.State(ctx)
	snap, err := client.New(s.h.Bus(), channel).Playlist(sctx)
	cancel()
	if err == nil {
		for _, x := range snap.Items {
			if x.UID == it.UID {
				it.QueuedBy = x.QueuedBy
				it.Temp = x.Temp
				queuedBy = s.ownerOf(ctx, channel, it)
			}
		}
	}
	rec := playRecord{Channel: channel, Key: key, Title: it.Title, Type: it.Type, MediaID: it.ID, URL: it.URL,
		Duration: it.Duration, QueuedBy: queuedBy, UID: it.UID, StartedAt: now.UnixMilli(), Status: statusPlaying}
	id, err := s.db.Set(ctx, PlaysCollection, database.ID{}, rec)
	if err != nil {
		s.log.Error("could not record a play", "err", err)
	}
	s.playing[channel] = &play{id: id, rec: rec, anchor: now}
	set := mediaSet(channel, it)
	set["last_played"], set["last_by"] = now.UnixMilli(), queuedBy
	// The counts are set from the first play on, so filters on them match.
	u := database.Update{Inc: map[string]any{"plays": 1, "skips": 0, "likes": 0, "dislikes": 0, "score": 0}, Set: set}
	if err := s.db.Upsert(ctx, MediaCollection, database.StringID(docID(channel, key)), u, nil); err != nil {
		s.log.Error("could not count a play", "err", err)
	}
}

// claim records user as who queued the item playing in channel, when it
// is the media key and nobody was known (the bot's !add raced the
// change of media).
func (s *server) claim(ctx context.Context, channel, key string, uid int64, user string) {
	s.playMu.Lock()
	defer s.playMu.Unlock()
	p := s.playing[channel]
	if p == nil || p.rec.Key != key || p.rec.UID != uid || p.rec.QueuedBy == user {
		return
	}
	p.rec.QueuedBy = user
	if !p.id.IsZero() {
		_ = s.db.Update(ctx, PlaysCollection, p.id, database.Update{Set: map[string]any{"queued_by": user}}, nil)
	}
	_ = s.db.Update(ctx, MediaCollection, database.StringID(docID(channel, key)), database.Update{Set: map[string]any{"last_by": user}}, nil)
}

// grace is how early an item may end and still count as played whole:
// CyTube's clock and the bot's differ by a few seconds.
func grace(length time.Duration) time.Duration { return max(5*time.Second, length/10) }

// closePlay ends p at now: how long it played (pauses left out, at most
// its length) and whether it was skipped (by a command, or it stopped
// well before its end). The caller holds playMu.
func (s *server) closePlay(ctx context.Context, p *play, now time.Time, skippedBy string) {
	delete(s.playing, p.rec.Channel)
	played := max(now.Sub(p.anchor), 0)
	if p.paused {
		played = duration(p.pos)
	}
	length := time.Duration(p.rec.Duration * float64(time.Second))
	if length > 0 {
		played = min(played, length)
	}
	if skippedBy == "" {
		skippedBy = p.skippedBy
	}
	skipped := skippedBy != "" || length > 0 && played < length-grace(length)
	set := map[string]any{"status": statusPlayed, "ended_at": now.UnixMilli(), "played": played.Round(time.Second).Seconds(), "skipped": skipped}
	if skippedBy != "" {
		set["skipped_by"] = skippedBy
	}
	if !p.id.IsZero() {
		if err := s.db.Update(ctx, PlaysCollection, p.id, database.Update{Set: set}, nil); err != nil {
			s.log.Error("could not record the end of a play", "err", err)
		}
	}
	if skipped {
		_ = s.db.Update(ctx, MediaCollection, database.StringID(docID(p.rec.Channel, p.rec.Key)), database.Update{Inc: map[string]any{"skips": 1}}, nil)
	}
}

func discardKey(channel string, uid int64, key string) string {
	return fmt.Sprintf("%s/%d/%s", channel, uid, key)
}

// discardedFor is how long an item taken off may still see its change of
// media come (it comes at once, if at all): past it the uid may be
// another item's, once CyTube, restarted, numbers its playlist from 0.
const discardedFor = time.Minute

// discard forgets the play of an item !add queued and takes off again at
// once (out of the limits, or blacklisted by title): it never really
// played. What CyTube told of it (title, length) is kept, so the next
// !add of it is refused before it reaches CyTube.
func (s *server) discard(ctx context.Context, channel string, it protocol.MediaItem) {
	key := it.Type + ":" + it.ID
	s.playMu.Lock()
	if p := s.playing[channel]; p != nil && p.rec.UID == it.UID && p.rec.Key == key {
		delete(s.playing, channel)
		if !p.id.IsZero() {
			_, _ = s.db.Delete(ctx, PlaysCollection, p.id)
		}
		_ = s.db.Update(ctx, MediaCollection, database.StringID(docID(channel, key)), database.Update{Inc: map[string]any{"plays": -1}}, nil)
	} else {
		// Its change of media may come yet: it is not to be recorded.
		now := s.h.Clock().Now()
		for k, at := range s.discarded {
			if now.Sub(at) >= discardedFor {
				delete(s.discarded, k)
			}
		}
		if len(s.discarded) > 100 {
			clear(s.discarded)
		}
		s.discarded[discardKey(channel, it.UID, key)] = now
	}
	s.playMu.Unlock()
	u := database.Update{Inc: map[string]any{"plays": 0, "skips": 0, "likes": 0, "dislikes": 0, "score": 0}, Set: mediaSet(channel, it)}
	if err := s.db.Upsert(ctx, MediaCollection, database.StringID(docID(channel, key)), u, nil); err != nil {
		s.log.Warn("could not record a refused item", "err", err)
	}
}
