package playlist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// refuse is the answer to a user below an action's rank.
func refuse(rank float64, what string) error {
	return plugin.UserError("⛔ Only %ss (rank %v) and up may %s here.", protocol.RankName(rank), rank, what)
}

// mayDo checks req's rank for action.
func mayDo(set *settings, req *plugin.Request, action, what string) error {
	if r := set.rank(action); req.Rank < r {
		return refuse(r, what)
	}
	return nil
}

// count reads an optional count argument: def when absent, at most max.
func count(req *plugin.Request, def, max int) (int, error) {
	switch len(req.Args) {
	case 0:
		return def, nil
	case 1:
		n, err := strconv.Atoi(req.Args[0])
		if err != nil || n < 1 {
			return 0, plugin.Usage(command(req.Command))
		}
		return min(n, max), nil
	}
	return 0, plugin.Usage(command(req.Command))
}

// upcoming lists the items in the order they will play after the current
// one: those after it, then those before it (CyTube's playlist loops).
func upcoming(snap protocol.PlaylistSnapshotEvent) []protocol.MediaItem {
	if snap.Current == nil {
		return snap.Items
	}
	for i, it := range snap.Items {
		if it.UID == *snap.Current {
			return append(append([]protocol.MediaItem{}, snap.Items[i+1:]...), snap.Items[:i]...)
		}
	}
	return snap.Items
}

func duration(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }

// userItems counts user's items on the playlist and how long they last.
func (s *server) userItems(ctx context.Context, channel string, snap protocol.PlaylistSnapshotEvent, user string) (int, time.Duration) {
	n, total := 0, time.Duration(0)
	for _, it := range snap.Items {
		if protocol.SameUser(s.ownerOf(ctx, channel, it), user) {
			n++
			total += duration(it.Duration)
		}
	}
	return n, total
}

// check applies the blacklist's titles and the limits to an item of that
// title and length, for a user of rank whose items already last total.
func check(set *settings, rank float64, lim Limits, name string, seconds float64, total time.Duration) error {
	if rank < set.exempt {
		for _, re := range set.titles {
			if re.MatchString(name) {
				return plugin.UserError("⛔ %s is on this channel's blacklist.", title(name))
			}
		}
	}
	d := duration(seconds)
	if lim.MaxLength > 0 && d > time.Duration(lim.MaxLength) {
		return plugin.UserError("⛔ %s lasts %s; the longest item you may add here is %s.", title(name), length(seconds), length(time.Duration(lim.MaxLength).Seconds()))
	}
	if lim.MaxTotal > 0 && total+d > time.Duration(lim.MaxTotal) {
		return plugin.UserError("⛔ With %s (%s) your items would last %s; you may have %s in the playlist here.", title(name), length(seconds),
			length((total + d).Seconds()), length(time.Duration(lim.MaxTotal).Seconds()))
	}
	return nil
}

// known returns what the plugin knows of a media in channel (from its
// plays), to check a link before queueing it.
func (s *server) known(ctx context.Context, channel, key string) (mediaRecord, bool) {
	var m mediaRecord
	if err := s.db.Get(ctx, MediaCollection, database.StringID(docID(channel, key)), &m); err != nil {
		return m, false
	}
	return m, m.Title != ""
}

// position tells where uid is in channel's playlist, as !queue numbers it.
func (s *server) position(ctx context.Context, c *client.Client, uid int64) string {
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	snap, err := c.Playlist(sctx)
	if err != nil {
		return ""
	}
	// CyTube plays an item added to an empty playlist at once, but it says
	// so (setCurrent) just after the queue event that answered the add:
	// a snapshot between the two has no current item yet.
	if snap.Current != nil && *snap.Current == uid || snap.Current == nil && len(snap.Items) > 0 && snap.Items[0].UID == uid {
		return "; it plays now"
	}
	for i, it := range upcoming(snap) {
		if it.UID == uid {
			return fmt.Sprintf(" at #%d", i+1)
		}
	}
	return ""
}

// allowance reads the channel's playlist for a user about to add to it:
// the user's limits, and the items and length already theirs. A user who
// has as many items as the limits allow is refused.
func (s *server) allowance(ctx context.Context, c *client.Client, req *plugin.Request, set *settings) (snap protocol.PlaylistSnapshotEvent, lim Limits, mine int, total time.Duration, err error) {
	sctx, cancel := chanwords.State(ctx)
	snap, err = c.Playlist(sctx)
	cancel()
	if err != nil {
		return snap, lim, 0, 0, chanwords.Explain(err, "add to the playlist")
	}
	lim = set.limitsFor(req.Rank)
	mine, total = s.userItems(ctx, req.Channel, snap, req.User)
	if lim.MaxItems > 0 && mine >= lim.MaxItems {
		return snap, lim, mine, total, plugin.UserError("⛔ You have %s in the playlist, the most you may have here. Wait until one plays.", items(mine))
	}
	return snap, lim, mine, total, nil
}

// add queues a link for the user, within the blacklist and their limits.
func (s *server) add(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if err := mayDo(set, req, RankAdd, "add to the playlist"); err != nil {
		return "", err
	}
	if len(req.Args) == 0 || len(req.Args) > 2 {
		return "", plugin.Usage(command("add"))
	}
	next := false
	if len(req.Args) == 2 {
		if !strings.EqualFold(req.Args[1], "next") {
			return "", plugin.Usage(command("add"))
		}
		if err := mayDo(set, req, RankNext, "add items to play next"); err != nil {
			return "", err
		}
		next = true
	}
	l, err := linkArg(req.Args[0])
	if err != nil {
		return "", err
	}
	key := l.String()
	if l.Type == "yp" {
		// CyTube adds every video of it: neither the limits nor the
		// blacklist could be applied, nor the outcome told.
		return "", plugin.UserError("⛔ I queue single videos, not YouTube playlists: add the videos one by one.")
	}
	if req.Rank < set.exempt && s.blacklisted(set, req.Channel, key) {
		return "", plugin.UserError("⛔ That media is on this channel's blacklist.")
	}
	c := client.New(s.h.Bus(), req.Channel)
	_, lim, _, total, err := s.allowance(ctx, c, req, set)
	if err != nil {
		return "", err
	}
	if m, ok := s.known(ctx, req.Channel, key); ok {
		if err := check(set, req.Rank, lim, m.Title, m.Duration, total); err != nil {
			return "", err
		}
	}
	it, err := c.QueueMedia(ctx, l.Type, l.ID, client.QueueOptions{Next: next})
	if err != nil {
		return "", chanwords.Explain(err, "add to the playlist")
	}
	// Title and length are known only now: an item out of bounds goes
	// again at once.
	if err := check(set, req.Rank, lim, it.Title, it.Duration, total); err != nil {
		s.discard(ctx, req.Channel, it)
		if derr := c.Delete(ctx, it.UID); derr != nil {
			s.log.Warn("could not take an item out of bounds off the playlist", "err", derr)
			return "", plugin.UserError("%s I could not take it off the playlist: %s", err, derr)
		}
		return "", err
	}
	if it.Type != "" { // CyTube's own id for it (it may rewrite the link's)
		key = it.Type + ":" + it.ID
	}
	s.setOwner(ctx, req.Channel, key, req.User)
	s.claim(ctx, req.Channel, key, it.UID, req.User)
	s.noteQueue(req.Channel)
	if !next {
		s.peopleFirst(ctx, c, it.UID)
	}
	return fmt.Sprintf("✅ Queued %s (%s)%s.", title(it.Title), length(it.Duration), s.position(ctx, c, it.UID)), nil
}

// nowPlaying tells what plays, who queued it and the time left.
func (s *server) nowPlaying(ctx context.Context, req *plugin.Request) (string, error) {
	c := client.New(s.h.Bus(), req.Channel)
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	m, err := c.Media(sctx)
	if err != nil {
		return "", chanwords.Explain(err, "see what plays")
	}
	if m.Item == nil {
		return "🤷 Nothing is playing.", nil
	}
	it := *m.Item
	by := s.ownerOf(ctx, req.Channel, it)
	if it.Duration <= 0 {
		return fmt.Sprintf("▶️ Now playing: %s (live), queued by %s.", title(it.Title), by), nil
	}
	left := it.Duration - max(m.Time, 0)
	return fmt.Sprintf("▶️ Now playing: %s, queued by %s — %s left of %s.", title(it.Title), by, length(max(left, 1)), length(it.Duration)), nil
}

// queue lists the next items.
func (s *server) queue(ctx context.Context, req *plugin.Request) (string, error) {
	n, err := count(req, s.in(req.Channel).queueLines, maxLines)
	if err != nil {
		return "", err
	}
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	snap, err := client.New(s.h.Bus(), req.Channel).Playlist(sctx)
	if err != nil {
		return "", chanwords.Explain(err, "see the playlist")
	}
	up := upcoming(snap)
	if len(up) == 0 {
		return "📜 Nothing is queued after what plays.", nil
	}
	var total float64
	for _, it := range up {
		total += it.Duration
	}
	var parts []string
	for i, it := range up[:min(n, len(up))] {
		parts = append(parts, fmt.Sprintf("%d. %s (%s, %s)", i+1, title(plugin.Clip(it.Title, 40)), length(it.Duration), s.ownerOf(ctx, req.Channel, it)))
	}
	out := fmt.Sprintf("📜 Up next (%d, %s): %s", len(up), length(total), strings.Join(parts, " · "))
	if len(up) > n {
		out += fmt.Sprintf(" · … %d more", len(up)-n)
	}
	return out, nil
}

// remove deletes the user's items, or anyone's for moderators.
func (s *server) remove(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if len(req.Args) > 1 {
		return "", plugin.Usage(command("remove"))
	}
	c := client.New(s.h.Bus(), req.Channel)
	sctx, cancel := chanwords.State(ctx)
	snap, err := c.Playlist(sctx)
	cancel()
	if err != nil {
		return "", chanwords.Explain(err, "remove playlist items")
	}
	up := upcoming(snap)
	var targets []protocol.MediaItem
	arg := ""
	if len(req.Args) == 1 {
		arg = strings.ToLower(req.Args[0])
	}
	switch arg {
	case "", "mine":
		for _, it := range up {
			if protocol.SameUser(s.ownerOf(ctx, req.Channel, it), req.User) {
				targets = append(targets, it)
			}
		}
		if len(targets) == 0 {
			return "🤷 You have nothing queued after what plays.", nil
		}
		if arg == "" { // the last one the user has in the queue
			targets = targets[len(targets)-1:]
		}
	default:
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return "", plugin.Usage(command("remove"))
		}
		if n > len(up) {
			return "", plugin.UserError("❌ There is no #%d in the queue (it has %d).", n, len(up))
		}
		it := up[n-1]
		if by := s.ownerOf(ctx, req.Channel, it); !protocol.SameUser(by, req.User) {
			if r := set.rank(RankRemoveAny); req.Rank < r {
				return "", plugin.UserError("⛔ #%d %s was queued by %s: only %ss (rank %v) and up may remove others' items here.",
					n, title(it.Title), by, protocol.RankName(r), r)
			}
		}
		targets = []protocol.MediaItem{it}
	}
	removed := 0
	for _, it := range targets {
		if err := c.Delete(ctx, it.UID); err != nil {
			if removed > 0 {
				return "", plugin.UserError("🗑️ Removed %d of %d, then: %s", removed, len(targets), chanwords.Explain(err, "remove playlist items"))
			}
			return "", chanwords.Explain(err, "remove playlist items")
		}
		removed++
	}
	if len(targets) == 1 {
		return fmt.Sprintf("🗑️ Removed %s.", title(targets[0].Title)), nil
	}
	return fmt.Sprintf("🗑️ Removed your %s.", items(removed)), nil
}

// skip plays the next item, and records the one playing as skipped.
func (s *server) skip(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if err := mayDo(set, req, RankSkip, "skip"); err != nil {
		return "", err
	}
	c := client.New(s.h.Bus(), req.Channel)
	sctx, cancel := chanwords.State(ctx)
	m, err := c.Media(sctx)
	cancel()
	if err != nil {
		return "", chanwords.Explain(err, "skip")
	}
	if m.Item == nil {
		return "🤷 Nothing is playing.", nil
	}
	s.markSkipped(req.Channel, m.UID, req.User)
	if err := c.Skip(ctx); err != nil {
		s.markSkipped(req.Channel, m.UID, "")
		return "", chanwords.Explain(err, "skip")
	}
	return fmt.Sprintf("⏭️ Skipped %s.", title(m.Item.Title)), nil
}

func (s *server) markSkipped(channel string, uid int64, by string) {
	s.playMu.Lock()
	defer s.playMu.Unlock()
	if p := s.playing[channel]; p != nil && p.rec.UID == uid {
		p.skippedBy = by
	}
}

// shuffle shuffles the playlist.
func (s *server) shuffle(ctx context.Context, req *plugin.Request) (string, error) {
	if err := mayDo(s.in(req.Channel), req, RankShuffle, "shuffle the playlist"); err != nil {
		return "", err
	}
	if err := client.New(s.h.Bus(), req.Channel).Shuffle(ctx); err != nil {
		return "", chanwords.Explain(err, "shuffle the playlist")
	}
	return "🔀 Shuffled the playlist.", nil
}

// bump makes item n of the queue play next.
func (s *server) bump(ctx context.Context, req *plugin.Request) (string, error) {
	if err := mayDo(s.in(req.Channel), req, RankBump, "bump items"); err != nil {
		return "", err
	}
	if len(req.Args) != 1 {
		return "", plugin.Usage(command("bump"))
	}
	n, err := strconv.Atoi(req.Args[0])
	if err != nil || n < 1 {
		return "", plugin.Usage(command("bump"))
	}
	c := client.New(s.h.Bus(), req.Channel)
	sctx, cancel := chanwords.State(ctx)
	snap, err := c.Playlist(sctx)
	cancel()
	if err != nil {
		return "", chanwords.Explain(err, "move playlist items")
	}
	up := upcoming(snap)
	if n > len(up) {
		return "", plugin.UserError("❌ There is no #%d in the queue (it has %d).", n, len(up))
	}
	it := up[n-1]
	if n == 1 {
		return fmt.Sprintf("⏫ %s plays next already.", title(it.Title)), nil
	}
	if snap.Current != nil {
		err = c.Move(ctx, it.UID, *snap.Current)
	} else {
		err = c.MoveFirst(ctx, it.UID)
	}
	if err != nil {
		return "", chanwords.Explain(err, "move playlist items")
	}
	return fmt.Sprintf("⏫ %s plays next.", title(it.Title)), nil
}

// voteRecord is one user's like (1) or dislike (-1) of a media.
type voteRecord struct {
	Channel string `json:"channel"`
	Key     string `json:"key"`
	User    string `json:"user"`
	Vote    int    `json:"vote"`
	At      int64  `json:"at"`
}

// like records a like or dislike of what plays, one per user and media.
func (s *server) like(ctx context.Context, req *plugin.Request) (string, error) {
	if err := mayDo(s.in(req.Channel), req, RankLike, "like or dislike"); err != nil {
		return "", err
	}
	vote, verb, icon := 1, "likes", "👍"
	if req.Command == "dislike" {
		vote, verb, icon = -1, "dislikes", "👎"
	}
	sctx, cancel := chanwords.State(ctx)
	m, err := client.New(s.h.Bus(), req.Channel).Media(sctx)
	cancel()
	if err != nil {
		return "", chanwords.Explain(err, "see what plays")
	}
	if m.Item == nil {
		return "🤷 Nothing is playing.", nil
	}
	it := *m.Item
	key := it.Type + ":" + it.ID
	vid := database.StringID(docID(req.Channel, key) + "/" + strings.ToLower(req.User))
	var prev voteRecord
	if err := s.db.Get(ctx, VotesCollection, vid, &prev); err != nil && !errors.Is(err, database.ErrNotFound) {
		return "", fmt.Errorf("playlist: load a vote: %w", err)
	}
	if prev.Vote == vote {
		// A count that failed to follow this vote before is put right now.
		if _, err := s.countVotes(ctx, req.Channel, it); err != nil {
			s.log.Warn("could not count the votes", "channel", req.Channel, "media", key, "err", err)
		}
		return fmt.Sprintf("%s You %s %s already.", icon, strings.TrimSuffix(verb, "s"), title(it.Title)), nil
	}
	rec := voteRecord{Channel: req.Channel, Key: key, User: req.User, Vote: vote, At: s.h.Clock().Now().UnixMilli()}
	if _, err := s.db.Set(ctx, VotesCollection, vid, rec); err != nil {
		return "", fmt.Errorf("playlist: record a vote: %w", err)
	}
	after, err := s.countVotes(ctx, req.Channel, it)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s %s %s (%d 👍 %d 👎).", icon, req.User, verb, title(it.Title), after.Likes, after.Dislikes), nil
}

// countVotes sets the media's likes, dislikes and score from the votes
// recorded, rather than adding this vote to them: a count that failed
// after its vote was saved is put right by the next one, and two votes at
// once cannot lose one. voteMu makes each count see every vote saved
// before it.
func (s *server) countVotes(ctx context.Context, channel string, it protocol.MediaItem) (mediaRecord, error) {
	key := it.Type + ":" + it.ID
	s.voteMu.Lock()
	defer s.voteMu.Unlock()
	var n [2]int64
	for i, vote := range []int{1, -1} {
		c, err := s.db.Count(ctx, VotesCollection, database.Filter{"channel": channel, "key": key, "vote": vote})
		if err != nil {
			return mediaRecord{}, fmt.Errorf("playlist: count the votes: %w", err)
		}
		n[i] = c
	}
	set := mediaSet(channel, it)
	set["likes"], set["dislikes"], set["score"] = n[0], n[1], n[0]-n[1]
	var after mediaRecord
	if err := s.db.Upsert(ctx, MediaCollection, database.StringID(docID(channel, key)),
		database.Update{Inc: map[string]any{"plays": 0, "skips": 0}, Set: set}, &after); err != nil {
		return mediaRecord{}, fmt.Errorf("playlist: count a vote: %w", err)
	}
	return after, nil
}

// liked lists the most liked media of the channel.
func (s *server) liked(ctx context.Context, req *plugin.Request) (string, error) {
	n, err := count(req, 5, maxLines)
	if err != nil {
		return "", err
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: MediaCollection,
		Filter: database.Filter{"channel": req.Channel, "likes": database.Filter{"$gt": 0}},
		Sort:   []string{"-score", "-likes", "title"}, Limit: n, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("playlist: load the most liked: %w", err)
	}
	var parts []string
	for i, item := range res.Items {
		var m mediaRecord
		if item.Decode(&m) != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d. %s (%d 👍 %d 👎)", i+1, title(plugin.Clip(m.Title, 40)), m.Likes, m.Dislikes))
	}
	if len(parts) == 0 {
		return "🤷 Nothing has been liked here yet: !like what plays.", nil
	}
	return "❤️ Most liked here: " + strings.Join(parts, " · "), nil
}

// ago writes how long ago t was.
func (s *server) ago(ms int64) string {
	d := s.h.Clock().Now().Sub(time.UnixMilli(ms))
	if d < time.Second {
		return "just now"
	}
	return plugin.FormatDuration(d) + " ago"
}

// history lists the last items that played.
func (s *server) history(ctx context.Context, req *plugin.Request) (string, error) {
	n, err := count(req, 5, maxLines)
	if err != nil {
		return "", err
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: PlaysCollection,
		Filter: database.Filter{"channel": req.Channel, "status": statusPlayed}, Sort: []string{"-ended_at", "-started_at"}, Limit: n, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("playlist: load the history: %w", err)
	}
	var parts []string
	for _, item := range res.Items {
		var p playRecord
		if item.Decode(&p) != nil {
			continue
		}
		line := fmt.Sprintf("%s (%s, %s", title(plugin.Clip(p.Title, 40)), p.QueuedBy, s.ago(p.EndedAt))
		if p.Skipped {
			line += fmt.Sprintf(", skipped after %s", length(max(p.Played, 1)))
		}
		parts = append(parts, line+")")
	}
	if len(parts) == 0 {
		return "🤷 Nothing has finished playing here yet.", nil
	}
	return "🕘 Last played: " + strings.Join(parts, " · "), nil
}

// lastPlayed tells when media whose title has all the words last played.
func (s *server) lastPlayed(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) == 0 {
		return "", plugin.Usage(command("lastplayed"))
	}
	words := strings.Fields(strings.ToLower(req.Text))
	longest := words[0]
	for _, w := range words {
		if len(w) > len(longest) {
			longest = w
		}
	}
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: MediaCollection,
		Filter: database.Filter{"channel": req.Channel, "title": database.Filter{"$like": "%" + likeEscape(longest) + "%"}},
		Sort:   []string{"-last_played"}, Limit: database.MaxLimit, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("playlist: search the history: %w", err)
	}
	for _, item := range res.Items {
		var m mediaRecord
		if item.Decode(&m) != nil || m.Plays == 0 {
			continue
		}
		t := strings.ToLower(m.Title)
		all := true
		for _, w := range words {
			all = all && strings.Contains(t, w)
		}
		if !all {
			continue
		}
		s.playMu.Lock()
		p := s.playing[req.Channel]
		now := p != nil && p.rec.Key == m.Key
		s.playMu.Unlock()
		plays := "1 play"
		if m.Plays != 1 {
			plays = fmt.Sprintf("%d plays", m.Plays)
		}
		if now {
			return fmt.Sprintf("▶️ %s plays now (queued by %s) · %s, %d 👍 %d 👎.", title(m.Title), m.LastBy, plays, m.Likes, m.Dislikes), nil
		}
		return fmt.Sprintf("🕘 %s last played %s (queued by %s) · %s, %d 👍 %d 👎.", title(m.Title), s.ago(m.LastPlayed), m.LastBy, plays, m.Likes, m.Dislikes), nil
	}
	return fmt.Sprintf("🤷 Nothing played here has “%s” in its title.", plugin.Clip(req.Text, 40)), nil
}
