package playlist

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/roseybot/rosey/cytube/medialink"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Defaults of Config.
const (
	DefaultRandomRecent = 2 * time.Hour
	DefaultRandomMax    = 5
	DefaultQueueLines   = 5
	DefaultAutofillIdle = 5 * time.Minute
	DefaultAutofillTick = 30 * time.Second
	DefaultExemptRank   = protocol.RankAdmin
	// maxLines bounds every list a command writes (!queue, !history,
	// !liked), so an answer stays within a chat line or two.
	maxLines = 10
)

// The rank-gated actions, as keys of Config.Ranks.
const (
	RankAdd       = "add"        // !add (default 0, everyone)
	RankNext      = "next"       // !add <link> next (default 1.5, CyTube's playlistnext)
	RankRemoveAny = "remove_any" // !remove of others' items (default 2)
	RankSkip      = "skip"       // !skip (default 2)
	RankShuffle   = "shuffle"    // !shuffle (default 2)
	RankBump      = "bump"       // !bump (default 2)
	RankRandom    = "random"     // !random (default 1, registered users)
	RankLike      = "like"       // !like and !dislike (default 0)
	RankBlacklist = "blacklist"  // !blacklist and !unblacklist (default 2)
)

var defaultRanks = map[string]float64{
	RankAdd: protocol.RankGuest, RankNext: protocol.RankLeader, RankRemoveAny: protocol.RankModerator,
	RankSkip: protocol.RankModerator, RankShuffle: protocol.RankModerator, RankBump: protocol.RankModerator,
	RankRandom: protocol.RankUser, RankLike: protocol.RankGuest, RankBlacklist: protocol.RankModerator,
}

// Limits bound what one user may have in the playlist; zero means no
// limit.
type Limits struct {
	// MaxItems is how many items a user may have in the playlist at once.
	MaxItems int `json:"max_items,omitempty"`
	// MaxTotal is how long a user's items may last together.
	MaxTotal plugin.Duration `json:"max_total,omitempty"`
	// MaxLength is the longest item a user may add (live media, with no
	// length, is not bounded by it).
	MaxLength plugin.Duration `json:"max_length,omitempty"`
}

// DefaultLimits apply when the config sets none: guests and users may
// have 5 items of at most 20 minutes, an hour in all; moderators and up
// are not limited.
func DefaultLimits() map[string]Limits {
	return map[string]Limits{
		"0": {MaxItems: 5, MaxTotal: plugin.Duration(time.Hour), MaxLength: plugin.Duration(20 * time.Minute)},
		"2": {},
	}
}

// Blacklist refuses media by id or by title.
type Blacklist struct {
	// IDs are links or CyTube "type:id" pairs (yt:dQw4w9WgXcQ).
	IDs []string `json:"ids,omitempty"`
	// Titles are regular expressions (Go syntax), matched against the
	// title without regard to case.
	Titles []string `json:"titles,omitempty"`
	// ExemptRank may queue blacklisted media (default 3, channel admins).
	ExemptRank *float64 `json:"exempt_rank,omitempty"`
}

// Autofill keeps the playlist filled from the history when nobody queues.
type Autofill struct {
	// Min is how many items the plugin keeps coming after the one playing;
	// 0 (the default) turns auto-fill off.
	Min int `json:"min,omitempty"`
	// Idle is how long nobody must have queued before auto-fill adds
	// anything (default 5m): it stops as soon as people queue.
	Idle plugin.Duration `json:"idle,omitempty"`
	// Every is how often the playlist is checked (default 30s).
	Every plugin.Duration `json:"every,omitempty"`
	// Temp queues the items as temporary (default true), so they leave
	// the playlist once played.
	Temp *bool `json:"temp,omitempty"`
}

// Config configures the plugin; the JSON fields come from its section of
// the bot's config and override the constructor's.
type Config struct {
	// Ranks sets the least rank of an action (keys: add, next,
	// remove_any, skip, shuffle, bump, random, like, blacklist).
	Ranks map[string]float64 `json:"ranks,omitempty"`
	// Limits are per-user limits by least rank, as strings ("0", "1.5",
	// "2"): a user gets the entry with the highest rank at or below
	// theirs, whole. Default: DefaultLimits.
	Limits map[string]Limits `json:"limits,omitempty"`
	// Blacklist refuses media by id or title.
	Blacklist Blacklist `json:"blacklist,omitempty"`
	// RandomRecent: !random and auto-fill pick nothing played within it
	// (default 2h).
	RandomRecent plugin.Duration `json:"random_recent,omitempty"`
	// RandomMax bounds !random's n (default 5, at most 10).
	RandomMax int `json:"random_max,omitempty"`
	// QueueLines is how many items !queue lists without n (default 5, at
	// most 10).
	QueueLines int `json:"queue_lines,omitempty"`
	// Autofill keeps the playlist filled when nobody queues (off unless
	// min is set).
	Autofill Autofill `json:"autofill,omitempty"`
	// Channels overrides the config in a channel, by channel name.
	Channels map[string]ChannelConfig `json:"channels,omitempty"`
}

// ChannelConfig is one channel's overrides. Ranks override the plugin's
// one by one; Limits and Autofill replace the plugin's whole; the
// blacklist's ids and titles are added to the plugin's (exempt_rank
// replaces).
type ChannelConfig struct {
	Ranks        map[string]float64 `json:"ranks,omitempty"`
	Limits       map[string]Limits  `json:"limits,omitempty"`
	Blacklist    Blacklist          `json:"blacklist,omitempty"`
	RandomRecent plugin.Duration    `json:"random_recent,omitempty"`
	Autofill     *Autofill          `json:"autofill,omitempty"`
}

// settings is the config that applies in one channel, checked and
// compiled.
type settings struct {
	ranks        map[string]float64
	limits       []rankLimits // by rank, ascending
	ids          map[string]bool
	titles       []*regexp.Regexp
	exempt       float64
	randomRecent time.Duration
	randomMax    int
	queueLines   int
	autofill     Autofill
}

type rankLimits struct {
	rank float64
	Limits
}

// limitsFor returns the limits of a user of rank.
func (s *settings) limitsFor(rank float64) Limits {
	var out Limits
	for _, l := range s.limits {
		if l.rank <= rank {
			out = l.Limits
		}
	}
	return out
}

func (s *settings) rank(action string) float64 { return s.ranks[action] }

// compile checks the plugin's config and returns the settings of channel
// ("" for channels without a section of their own).
func (c Config) compile(channel string) (*settings, error) {
	ranks := maps.Clone(defaultRanks)
	limits := c.Limits
	bl := c.Blacklist
	recent := c.RandomRecent
	af := c.Autofill
	if o, ok := c.Channels[channel]; ok && channel != "" {
		if o.Limits != nil {
			limits = o.Limits
		}
		bl = Blacklist{IDs: append(slices.Clone(bl.IDs), o.Blacklist.IDs...),
			Titles: append(slices.Clone(bl.Titles), o.Blacklist.Titles...), ExemptRank: bl.ExemptRank}
		if o.Blacklist.ExemptRank != nil {
			bl.ExemptRank = o.Blacklist.ExemptRank
		}
		if o.RandomRecent != 0 {
			recent = o.RandomRecent
		}
		if o.Autofill != nil {
			af = *o.Autofill
		}
		merged := maps.Clone(c.Ranks)
		if merged == nil {
			merged = map[string]float64{}
		}
		maps.Copy(merged, o.Ranks)
		c.Ranks = merged
	}
	s := &settings{ranks: ranks, ids: map[string]bool{}, randomMax: c.RandomMax, queueLines: c.QueueLines}
	for k, r := range c.Ranks {
		if _, ok := defaultRanks[k]; !ok {
			return nil, fmt.Errorf("playlist: config: ranks: no action %q (add, next, remove_any, skip, shuffle, bump, random, like, blacklist)", k)
		}
		if r < protocol.RankGuest || r > protocol.RankFounder {
			return nil, fmt.Errorf("playlist: config: ranks.%s: %v is not a CyTube rank (0 to 5)", k, r)
		}
		s.ranks[k] = r
	}
	if limits == nil {
		limits = DefaultLimits()
	}
	for k, l := range limits {
		r, err := strconv.ParseFloat(k, 64)
		if err != nil || r < protocol.RankGuest || r > protocol.RankFounder {
			return nil, fmt.Errorf("playlist: config: limits: %q is not a CyTube rank (0 to 5)", k)
		}
		if l.MaxItems < 0 || l.MaxTotal < 0 || l.MaxLength < 0 {
			return nil, fmt.Errorf("playlist: config: limits.%s: a limit is negative", k)
		}
		s.limits = append(s.limits, rankLimits{rank: r, Limits: l})
	}
	slices.SortFunc(s.limits, func(a, b rankLimits) int {
		switch {
		case a.rank < b.rank:
			return -1
		case a.rank > b.rank:
			return 1
		}
		return 0
	})
	for _, id := range bl.IDs {
		l, err := medialink.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("playlist: config: blacklist.ids: %w", err)
		}
		s.ids[l.String()] = true
	}
	for _, t := range bl.Titles {
		re, err := regexp.Compile("(?i)" + t)
		if err != nil {
			return nil, fmt.Errorf("playlist: config: blacklist.titles: %w", err)
		}
		s.titles = append(s.titles, re)
	}
	s.exempt = DefaultExemptRank
	if bl.ExemptRank != nil {
		s.exempt = *bl.ExemptRank
	}
	if s.exempt < protocol.RankGuest || s.exempt > protocol.RankSiteAdmin {
		return nil, fmt.Errorf("playlist: config: blacklist.exempt_rank: %v is not a CyTube rank", s.exempt)
	}
	s.randomRecent = time.Duration(recent)
	if s.randomRecent == 0 {
		s.randomRecent = DefaultRandomRecent
	}
	if s.randomMax == 0 {
		s.randomMax = DefaultRandomMax
	}
	if s.queueLines == 0 {
		s.queueLines = DefaultQueueLines
	}
	switch {
	case s.randomRecent < 0:
		return nil, fmt.Errorf("playlist: config: random_recent: %s is negative", s.randomRecent)
	case s.randomMax < 1 || s.randomMax > maxLines:
		return nil, fmt.Errorf("playlist: config: random_max: %d is not between 1 and %d", s.randomMax, maxLines)
	case s.queueLines < 1 || s.queueLines > maxLines:
		return nil, fmt.Errorf("playlist: config: queue_lines: %d is not between 1 and %d", s.queueLines, maxLines)
	}
	if af.Idle == 0 {
		af.Idle = plugin.Duration(DefaultAutofillIdle)
	}
	if af.Every == 0 {
		af.Every = plugin.Duration(DefaultAutofillTick)
	}
	if af.Temp == nil {
		t := true
		af.Temp = &t
	}
	switch {
	case af.Min < 0 || af.Min > 50:
		return nil, fmt.Errorf("playlist: config: autofill.min: %d is not between 0 and 50", af.Min)
	case af.Idle < 0:
		return nil, fmt.Errorf("playlist: config: autofill.idle: %s is negative", time.Duration(af.Idle))
	case time.Duration(af.Every) < time.Second:
		return nil, fmt.Errorf("playlist: config: autofill.every: %s is under 1s", time.Duration(af.Every))
	}
	s.autofill = af
	return s, nil
}
