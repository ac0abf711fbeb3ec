package playlist

import (
	"context"
	"fmt"
	"strings"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/cytube/medialink"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/plugin"
)

// BlacklistCollection holds the media moderators blacklisted with
// !blacklist, one document per channel and media.
const BlacklistCollection = "blacklist"

// bannedRecord is one media blacklisted with !blacklist.
type bannedRecord struct {
	Channel string `json:"channel"`
	Key     string `json:"key"`
	Title   string `json:"title,omitempty"`
	By      string `json:"by"`
	At      int64  `json:"at"`
}

// loadBanned reads the media blacklisted with !blacklist.
func (s *server) loadBanned(ctx context.Context) {
	res, err := s.db.Query(ctx, database.QueryRequest{Collection: BlacklistCollection, Limit: database.MaxLimit, NoTotal: true})
	if err != nil {
		s.log.Warn("could not load the blacklist", "err", err)
		return
	}
	for _, it := range res.Items {
		var b bannedRecord
		if it.Decode(&b) == nil {
			s.banned[docID(b.Channel, b.Key)] = true
		}
	}
}

// blacklisted reports whether the media key is on channel's blacklist:
// the config's ids or a moderator's !blacklist.
func (s *server) blacklisted(set *settings, channel, key string) bool {
	if set.ids[key] {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.banned[docID(channel, key)]
}

// linkArg reads a media link argument.
func linkArg(arg string) (medialink.Link, error) {
	l, err := medialink.Parse(arg)
	if err != nil {
		detail := err.Error()
		for _, sentinel := range []error{medialink.ErrInvalid, medialink.ErrUnsupported} {
			detail = strings.TrimPrefix(detail, sentinel.Error()+": ")
		}
		return l, plugin.UserError("❌ I cannot queue that link: %s.", detail)
	}
	return l, nil
}

// blacklist puts a link, or what plays (and skips it), on the channel's
// blacklist.
func (s *server) blacklist(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if err := mayDo(set, req, RankBlacklist, "blacklist media"); err != nil {
		return "", err
	}
	if len(req.Args) > 1 {
		return "", plugin.Usage(command("blacklist"))
	}
	c := client.New(s.h.Bus(), req.Channel)
	var key, name string
	playing := int64(-1)
	if len(req.Args) == 1 {
		l, err := linkArg(req.Args[0])
		if err != nil {
			return "", err
		}
		key, name = l.String(), l.String()
		if m, ok := s.known(ctx, req.Channel, key); ok {
			name = m.Title
		}
	} else {
		sctx, cancel := chanwords.State(ctx)
		m, err := c.Media(sctx)
		cancel()
		if err != nil {
			return "", chanwords.Explain(err, "see what plays")
		}
		if m.Item == nil {
			return "", plugin.Usage(command("blacklist"))
		}
		key, name, playing = m.Item.Type+":"+m.Item.ID, m.Item.Title, m.UID
	}
	s.banMu.Lock()
	if s.blacklisted(set, req.Channel, key) {
		s.banMu.Unlock()
		return fmt.Sprintf("🚫 %s is on this channel's blacklist already.", title(name)), nil
	}
	rec := bannedRecord{Channel: req.Channel, Key: key, Title: name, By: req.User, At: s.h.Clock().Now().UnixMilli()}
	if _, err := s.db.Set(ctx, BlacklistCollection, database.StringID(docID(req.Channel, key)), rec); err != nil {
		s.banMu.Unlock()
		return "", fmt.Errorf("playlist: record a blacklisted media: %w", err)
	}
	s.mu.Lock()
	s.banned[docID(req.Channel, key)] = true
	s.mu.Unlock()
	s.banMu.Unlock()
	out := fmt.Sprintf("🚫 %s is on this channel's blacklist now.", title(name))
	if playing >= 0 {
		s.markSkipped(req.Channel, playing, req.User)
		if err := c.Skip(ctx); err != nil {
			s.markSkipped(req.Channel, playing, "")
			return out + " I could not skip it: " + chanwords.Explain(err, "skip").Error(), nil
		}
		out += " Skipped it."
	}
	return out, nil
}

// unblacklist takes a link off the blacklist !blacklist keeps (the
// config's stays).
func (s *server) unblacklist(ctx context.Context, req *plugin.Request) (string, error) {
	set := s.in(req.Channel)
	if err := mayDo(set, req, RankBlacklist, "blacklist media"); err != nil {
		return "", err
	}
	if len(req.Args) != 1 {
		return "", plugin.Usage(command("unblacklist"))
	}
	l, err := linkArg(req.Args[0])
	if err != nil {
		return "", err
	}
	key := l.String()
	name := key
	if m, ok := s.known(ctx, req.Channel, key); ok {
		name = m.Title
	}
	if set.ids[key] {
		return "", plugin.UserError("⛔ %s is blacklisted in the bot's config: only its operator can take it off.", title(name))
	}
	// The database first: if it cannot forget the media, the media stays
	// blacklisted in memory too (and after a restart, as it reads it back).
	id := docID(req.Channel, key)
	s.banMu.Lock()
	defer s.banMu.Unlock()
	s.mu.Lock()
	had := s.banned[id]
	s.mu.Unlock()
	if !had {
		return fmt.Sprintf("🤷 %s is not on this channel's blacklist.", title(name)), nil
	}
	if _, err := s.db.Delete(ctx, BlacklistCollection, database.StringID(id)); err != nil {
		return "", fmt.Errorf("playlist: forget a blacklisted media: %w", err)
	}
	s.mu.Lock()
	delete(s.banned, id)
	s.mu.Unlock()
	return fmt.Sprintf("✅ %s is off this channel's blacklist.", title(name)), nil
}
