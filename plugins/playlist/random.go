package playlist

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// candidates returns media of the channel's history to queue, best first
// by chance weighted with their score: not disliked on balance, not played
// within the settings' recent time, not on the playlist, not blacklisted,
// no longer than lim allows.
func (s *server) candidates(ctx context.Context, channel string, set *settings, snap protocol.PlaylistSnapshotEvent, lim Limits) ([]mediaRecord, error) {
	since := s.h.Clock().Now().Add(-set.randomRecent).UnixMilli()
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: MediaCollection,
		Filter: database.Filter{"channel": channel, "plays": database.Filter{"$gt": 0}, "score": database.Filter{"$gte": 0},
			"last_played": database.Filter{"$lt": since}},
		Sort: []string{"-score", "-plays"}, Limit: 200, NoTotal: true})
	if err != nil {
		return nil, fmt.Errorf("playlist: load the history: %w", err)
	}
	on := map[string]bool{}
	for _, it := range snap.Items {
		on[it.Type+":"+it.ID] = true
	}
	var pool []mediaRecord
	for _, item := range res.Items {
		var m mediaRecord
		if item.Decode(&m) != nil || m.Type == "" || on[m.Key] || s.blacklisted(set, channel, m.Key) {
			continue
		}
		if lim.MaxLength > 0 && duration(m.Duration) > time.Duration(lim.MaxLength) {
			continue
		}
		if check(set, protocol.RankGuest, Limits{}, m.Title, m.Duration, 0) != nil {
			continue // a title on the blacklist
		}
		pool = append(pool, m)
	}
	// Weighted draw without replacement: a score of 4 is five times as
	// likely to come first as a score of 0.
	var out []mediaRecord
	for len(pool) > 0 {
		total := 0
		for _, m := range pool {
			total += 1 + m.Score
		}
		r := rand.IntN(total)
		i := 0
		for ; r >= 1+pool[i].Score; i++ {
			r -= 1 + pool[i].Score
		}
		out = append(out, pool[i])
		pool = append(pool[:i], pool[i+1:]...)
	}
	return out, nil
}

// fill queues up to n of the candidates for user, and returns what it
// queued and the error that stopped it (a refusal of one item passes on
// to the next candidate; a permission or connection error stops).
func (s *server) fill(ctx context.Context, c *client.Client, user string, pool []mediaRecord, n int, temp bool,
	fits func(m mediaRecord) bool) ([]protocol.MediaItem, error) {
	var got []protocol.MediaItem
	for _, m := range pool {
		if len(got) == n {
			break
		}
		if fits != nil && !fits(m) {
			continue
		}
		it, err := c.QueueMedia(ctx, m.Type, m.MediaID, client.QueueOptions{Temp: temp})
		if errors.Is(err, client.ErrRefused) {
			s.log.Info("CyTube refused an item from the history", "key", m.Key, "err", err)
			continue
		}
		if err != nil {
			return got, err
		}
		s.setOwner(ctx, c.Channel(), m.Key, user)
		s.claim(ctx, c.Channel(), m.Key, it.UID, user)
		got = append(got, it)
	}
	return got, nil
}

// random queues n items from the history for the user.
func (s *server) random(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if err := mayDo(set, req, RankRandom, "queue from the history"); err != nil {
		return "", err
	}
	n, err := count(req, 1, set.randomMax)
	if err != nil {
		return "", err
	}
	c := client.New(s.h.Bus(), req.Channel)
	snap, lim, mine, total, err := s.allowance(ctx, c, req, set)
	if err != nil {
		return "", err
	}
	if lim.MaxItems > 0 {
		n = min(n, lim.MaxItems-mine)
	}
	pool, err := s.candidates(ctx, req.Channel, set, snap, lim)
	if err != nil {
		return "", err
	}
	got, err := s.fill(ctx, c, req.User, pool, n, false, func(m mediaRecord) bool {
		if lim.MaxTotal > 0 && total+duration(m.Duration) > time.Duration(lim.MaxTotal) {
			return false
		}
		total += duration(m.Duration)
		return true
	})
	if len(got) > 0 {
		s.noteQueue(req.Channel)
	}
	for _, it := range got { // a person's items: before the filler, in order
		s.peopleFirst(ctx, c, it.UID)
	}
	if err != nil && len(got) == 0 {
		return "", chanwords.Explain(err, "add to the playlist")
	}
	if len(got) == 0 {
		return fmt.Sprintf("🤷 Nothing in the history fits (not played in the last %s, not disliked, not on the playlist, within your limits).",
			plugin.FormatDuration(set.randomRecent)), nil
	}
	var parts []string
	for _, it := range got {
		parts = append(parts, fmt.Sprintf("%s (%s%s)", title(it.Title), length(it.Duration), s.position(ctx, c, it.UID)))
	}
	return "🎲 Queued from the history: " + strings.Join(parts, ", "), nil
}

// autofillTick tops up the playlist of every channel whose auto-fill is
// on, when nobody has queued there for its idle time.
func (s *server) autofillTick(ctx context.Context) {
	s.mu.Lock()
	var chans []string
	for ch := range s.channels {
		chans = append(chans, ch)
	}
	s.mu.Unlock()
	for _, ch := range chans {
		s.autofill(ctx, ch)
	}
}

func (s *server) autofill(ctx context.Context, channel string) {
	set := s.in(channel)
	af := set.autofill
	if af.Min <= 0 {
		return
	}
	now := s.h.Clock().Now()
	s.mu.Lock()
	last := s.lastQueue[channel]
	s.mu.Unlock()
	if now.Sub(last) < time.Duration(af.Idle) {
		return // people queue: auto-fill waits
	}
	c := client.New(s.h.Bus(), channel)
	sctx, cancel := chanwords.State(ctx)
	snap, err := c.Playlist(sctx)
	cancel()
	if err != nil {
		return
	}
	up := len(upcoming(snap))
	if snap.Current == nil && len(snap.Items) == 0 {
		up = -1 // nothing plays: one more, to play now
	}
	if up >= af.Min {
		return
	}
	pool, err := s.candidates(ctx, channel, set, snap, Limits{})
	if err != nil {
		s.log.Warn("auto-fill could not read the history", "channel", channel, "err", err)
		return
	}
	got, err := s.fill(ctx, c, AutofillUser, pool, af.Min-up, *af.Temp, nil)
	switch {
	case errors.Is(err, client.ErrPermission), errors.Is(err, client.ErrNotConnected):
		// Every check would say so again: not worth a warning each time.
		s.log.Debug("auto-fill could not queue", "channel", channel, "err", err)
	case err != nil:
		s.log.Warn("auto-fill could not queue", "channel", channel, "err", err)
	}
	if len(got) == 0 {
		return
	}
	var names []string
	for _, it := range got {
		names = append(names, title(it.Title))
	}
	msg := fmt.Sprintf("🎲 Nobody has queued for %s, so I added %s from the history.", plugin.FormatDuration(time.Duration(af.Idle)), strings.Join(names, ", "))
	if err := s.h.SayIn(ctx, channel, msg); err != nil {
		s.log.Warn("could not announce auto-fill", "err", err)
	}
}

// peopleFirst moves an item a person queued ahead of the auto-fill items
// waiting before it: filler never keeps people waiting.
func (s *server) peopleFirst(ctx context.Context, c *client.Client, uid int64) {
	if s.in(c.Channel()).autofill.Min <= 0 {
		return
	}
	sctx, cancel := chanwords.State(ctx)
	snap, err := c.Playlist(sctx)
	cancel()
	if err != nil {
		return
	}
	up := upcoming(snap)
	first, at := -1, -1
	for i, it := range up {
		if it.UID == uid {
			at = i
			break
		}
		if first < 0 && s.ownerOf(ctx, c.Channel(), it) == AutofillUser {
			first = i
		}
	}
	if first < 0 || at < 0 {
		return
	}
	switch {
	case first > 0:
		err = c.Move(ctx, uid, up[first-1].UID)
	case snap.Current != nil:
		err = c.Move(ctx, uid, *snap.Current)
	default:
		err = c.MoveFirst(ctx, uid)
	}
	if err != nil {
		s.log.Debug("could not move a person's item before auto-fill's", "channel", c.Channel(), "err", err)
	}
}
