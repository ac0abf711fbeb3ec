package moderation

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Automod configures the automatic moderator (Config.Automod). Every rule
// is off until its "on" is true; its other fields default as documented.
// In a channel's section (ChannelConfig.Automod) only the fields written
// change: {"flood": {"lines": 8}} keeps the rest of the plugin's automod.
type Automod struct {
	Flood  FloodRule  `json:"flood"`
	Repeat RepeatRule `json:"repeat"`
	Caps   CapsRule   `json:"caps"`
	Words  WordsRule  `json:"words"`
	Links  LinksRule  `json:"links"`
	Emotes EmotesRule `json:"emotes"`
	// Ladder is what each offense of a user does, in turn: "warn",
	// "mute <duration>" (default 10m), "kick", "ban". Past its end the last
	// step repeats. Default warn, mute 10m, kick, ban.
	Ladder []string `json:"ladder,omitempty"`
	// Forgive takes a user one step down the ladder per period without an
	// offense (default 1h).
	Forgive plugin.Duration `json:"forgive,omitempty"`
	// Grace: offenses of a user this soon after automod acted on them
	// (lines already on their way) do not climb the ladder (default 10s).
	Grace plugin.Duration `json:"grace,omitempty"`
	// ExemptRank: users of this rank or higher are never judged (default
	// moderator, 2). The admins (the plugin's, the channel's and the
	// router's) are never judged either.
	ExemptRank float64 `json:"exempt_rank,omitempty"`
}

// FloodRule: more than Lines lines in Window from one user is an offense.
type FloodRule struct {
	On     bool            `json:"on,omitempty"`
	Lines  int             `json:"lines,omitempty"`  // default 5
	Window plugin.Duration `json:"window,omitempty"` // default 5s
}

// RepeatRule: the same line (case and spacing aside) said Count times in
// Window by one user is an offense.
type RepeatRule struct {
	On     bool            `json:"on,omitempty"`
	Count  int             `json:"count,omitempty"`  // default 3
	Window plugin.Duration `json:"window,omitempty"` // default 1m
}

// CapsRule: a line of at least MinLength letters of which Ratio or more
// are capitals is an offense.
type CapsRule struct {
	On        bool    `json:"on,omitempty"`
	MinLength int     `json:"min_length,omitempty"` // default 16
	Ratio     float64 `json:"ratio,omitempty"`      // default 0.7
}

// WordsRule: a line holding one of Words (whole words, any case) or
// matching one of Patterns (Go regular expressions, RE2 syntax, as
// written: add (?i) for any case) is an offense.
type WordsRule struct {
	On       bool     `json:"on,omitempty"`
	Words    []string `json:"words,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
}

// LinksRule: a link from a user below MinRank, or from a user who first
// joined the channel less than NewFor ago, is an offense.
type LinksRule struct {
	On      bool            `json:"on,omitempty"`
	MinRank float64         `json:"min_rank,omitempty"` // default 1 (registered)
	NewFor  plugin.Duration `json:"new_for,omitempty"`  // default 0: nobody is new
}

// EmotesRule: a line with more than Max of the channel's emotes is an
// offense.
type EmotesRule struct {
	On  bool `json:"on,omitempty"`
	Max int  `json:"max,omitempty"` // default 5
}

// The automod's defaults.
const (
	DefaultFloodLines    = 5
	DefaultFloodWindow   = 5 * time.Second
	DefaultRepeatCount   = 3
	DefaultRepeatWindow  = time.Minute
	DefaultCapsMinLength = 16
	DefaultCapsRatio     = 0.7
	DefaultLinksMinRank  = protocol.RankUser
	DefaultEmotesMax     = 5
	DefaultMuteFor       = 10 * time.Minute
	DefaultForgive       = time.Hour
	DefaultGrace         = 10 * time.Second
	DefaultExemptRank    = protocol.RankModerator
)

// defaultLadder is the escalation ladder when the config gives none.
var defaultLadder = []string{"warn", "mute 10m", "kick", "ban"}

// The rules, as named in reasons and records.
const (
	RuleFlood  = "flood"
	RuleRepeat = "repeat"
	RuleCaps   = "caps"
	RuleWords  = "words"
	RuleLinks  = "links"
	RuleEmotes = "emotes"
)

// step is one rung of the ladder.
type step struct {
	action string // Warn, Mute, Kick or Ban
	d      time.Duration
}

func (s step) String() string {
	if s.action == Mute {
		return "mute " + shortDuration(s.d)
	}
	return s.action
}

// rules is the automod of one channel, checked and compiled.
type rules struct {
	Automod
	on      bool            // any rule on
	words   *regexp.Regexp  // the patterns, nil without
	wordSet map[string]bool // the single words, normalized
	phrases []string        // the words of several words, " a b "
	ladder  []step
	forgive time.Duration
	grace   time.Duration
	admins  map[string]bool // the plugin's and the channel's, lower-cased
}

// tlds are the top-level domains a bare name ("example.com") is a link
// under; a scheme ("https://") or "www." is a link anywhere.
var tlds = map[string]bool{"com": true, "net": true, "org": true, "io": true, "gg": true, "tv": true, "me": true,
	"ru": true, "xyz": true, "co": true, "info": true, "be": true, "ly": true, "link": true, "live": true,
	"app": true, "dev": true, "site": true, "top": true, "uk": true, "de": true, "fr": true, "biz": true}

// hasLink reports whether text holds a link, without a regular
// expression: it is asked of every line.
func hasLink(text string) bool {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ':':
			if strings.HasPrefix(text[i:], "://") && i > 0 && isWordByte(text[i-1]) {
				return true
			}
		case '.':
			if i == 0 || !isWordByte(text[i-1]) {
				continue
			}
			if i >= 3 && strings.EqualFold(text[i-3:i], "www") && (i == 3 || !isWordByte(text[i-4])) {
				return true
			}
			j := i + 1
			for j < len(text) && (text[j]|0x20 >= 'a' && text[j]|0x20 <= 'z') {
				j++
			}
			if j > i+1 && (j == len(text) || !isWordByte(text[j])) && tlds[strings.ToLower(text[i+1:j])] {
				return true
			}
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// normalizeWords lower-cases text and keeps its words (letters, digits
// and _) separated by single spaces.
func normalizeWords(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for _, c := range text {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(c))
		} else {
			space = true
		}
	}
	return b.String()
}

// compile fills in the defaults, checks every field and compiles the
// patterns; an error names the field as the config writes it.
func (a Automod) compile(admins []string) (*rules, error) {
	fail := func(format string, args ...any) (*rules, error) {
		return nil, fmt.Errorf("moderation: config: automod."+format, args...)
	}
	r := &rules{Automod: a, admins: map[string]bool{}}
	for _, n := range admins {
		r.admins[strings.ToLower(n)] = true
	}
	d := func(v *plugin.Duration, def time.Duration) time.Duration {
		if *v == 0 {
			*v = plugin.Duration(def)
		}
		return time.Duration(*v)
	}
	f := &r.Flood
	if f.Lines == 0 {
		f.Lines = DefaultFloodLines
	}
	if w := d(&f.Window, DefaultFloodWindow); w < time.Second || w > 10*time.Minute {
		return fail("flood.window: %s is not between 1s and 10m", w)
	}
	if f.Lines < 1 || f.Lines > 100 {
		return fail("flood.lines: %d is not between 1 and 100", f.Lines)
	}
	rp := &r.Repeat
	if rp.Count == 0 {
		rp.Count = DefaultRepeatCount
	}
	if rp.Count < 2 || rp.Count > 20 {
		return fail("repeat.count: %d is not between 2 and 20", rp.Count)
	}
	if w := d(&rp.Window, DefaultRepeatWindow); w < time.Second || w > time.Hour {
		return fail("repeat.window: %s is not between 1s and 1h", w)
	}
	c := &r.Caps
	if c.MinLength == 0 {
		c.MinLength = DefaultCapsMinLength
	}
	if c.Ratio == 0 {
		c.Ratio = DefaultCapsRatio
	}
	if c.MinLength < 1 || c.MinLength > 320 {
		return fail("caps.min_length: %d is not between 1 and 320", c.MinLength)
	}
	if c.Ratio <= 0 || c.Ratio > 1 {
		return fail("caps.ratio: %v is not above 0 and at most 1", c.Ratio)
	}
	// Words are looked up in the line's words (a set, and the phrases
	// in the line with its words joined by single spaces): no regular
	// expression for them, they are the common case and the hot path.
	r.wordSet = map[string]bool{}
	for i, w := range r.Words.Words {
		n := normalizeWords(w)
		if n == "" {
			return fail("words.words[%d]: no letters or digits", i)
		}
		if strings.Contains(n, " ") {
			r.phrases = append(r.phrases, " "+n+" ")
		} else {
			r.wordSet[n] = true
		}
	}
	for i, p := range r.Words.Patterns {
		if _, err := regexp.Compile(p); err != nil {
			return fail("words.patterns[%d]: %w", i, err)
		}
	}
	if len(r.Words.Patterns) > 0 {
		r.words = regexp.MustCompile("(?:" + strings.Join(r.Words.Patterns, ")|(?:") + ")")
	}
	if r.Words.On && len(r.Words.Words)+len(r.Words.Patterns) == 0 {
		return fail("words: on, but no words or patterns")
	}
	l := &r.Links
	if l.MinRank == 0 {
		l.MinRank = DefaultLinksMinRank
	}
	if l.MinRank < 0 || l.MinRank > protocol.RankFounder {
		return fail("links.min_rank: %v is not between 0 and 5", l.MinRank)
	}
	if l.NewFor < 0 || time.Duration(l.NewFor) > 30*24*time.Hour {
		return fail("links.new_for: %s is not between 0s and 720h", time.Duration(l.NewFor))
	}
	if r.Emotes.Max == 0 {
		r.Emotes.Max = DefaultEmotesMax
	}
	if r.Emotes.Max < 1 || r.Emotes.Max > 100 {
		return fail("emotes.max: %d is not between 1 and 100", r.Emotes.Max)
	}
	if len(r.Ladder) == 0 {
		r.Ladder = defaultLadder
	}
	if len(r.Ladder) > 10 {
		return fail("ladder: %d steps, at most 10", len(r.Ladder))
	}
	for i, s := range r.Ladder {
		st, err := parseStep(s)
		if err != nil {
			return fail("ladder[%d]: %w", i, err)
		}
		r.ladder = append(r.ladder, st)
	}
	if r.forgive = d(&r.Forgive, DefaultForgive); r.forgive < time.Minute {
		return fail("forgive: %s is less than 1m", r.forgive)
	}
	if r.grace = d(&r.Grace, DefaultGrace); r.grace < 0 || r.grace > 10*time.Minute {
		return fail("grace: %s is not between 0s and 10m", r.grace)
	}
	if r.ExemptRank == 0 {
		r.ExemptRank = DefaultExemptRank
	}
	if r.ExemptRank < protocol.RankUser || r.ExemptRank > protocol.RankFounder+1 {
		return fail("exempt_rank: %v is not between 1 and 6", r.ExemptRank)
	}
	r.on = r.Flood.On || r.Repeat.On || r.Caps.On || r.Words.On || r.Links.On || r.Emotes.On
	return r, nil
}

// parseStep reads "warn", "mute", "mute 5m", "kick" or "ban".
func parseStep(s string) (step, error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 {
		return step{}, fmt.Errorf("an empty step (warn, mute <duration>, kick or ban)")
	}
	switch {
	case f[0] == Mute && len(f) <= 2:
		st := step{action: Mute, d: DefaultMuteFor}
		if len(f) == 2 {
			d, err := time.ParseDuration(f[1])
			if err != nil || d < time.Second || d > 30*24*time.Hour {
				return step{}, fmt.Errorf("%q: the mute's duration is not between 1s and 720h (write \"mute 10m\")", s)
			}
			st.d = d
		}
		return st, nil
	case len(f) == 1 && (f[0] == Warn || f[0] == Kick || f[0] == Ban):
		return step{action: f[0]}, nil
	}
	return step{}, fmt.Errorf("%q is not a step (warn, mute <duration>, kick or ban)", s)
}

// channelAutomod returns the automod of a channel: the plugin's, with the
// fields the channel's section writes (raw, as in the config file, or
// else the section given in Go) changed.
func channelAutomod(base Automod, raw json.RawMessage, given *Automod) (Automod, error) {
	if len(raw) == 0 && given != nil {
		raw, _ = json.Marshal(given) // omitempty: only what is set
	}
	if len(raw) == 0 || string(raw) == "null" {
		return base, nil
	}
	// A copy first: decoding into base itself would write through its
	// slices into the plugin's automod.
	b, err := json.Marshal(base)
	if err != nil {
		return Automod{}, err
	}
	var out Automod
	if err := json.Unmarshal(b, &out); err != nil {
		return Automod{}, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return Automod{}, fmt.Errorf("moderation: config: automod: %w", err)
	}
	return out, nil
}

// shortDuration writes 10m0s as 10m and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
