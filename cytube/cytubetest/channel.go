package cytubetest

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/roseybot/rosey/internal/socketio"
)

type channel struct {
	s       *Server
	name    string
	cfg     ChannelConfig
	known   bool // added with AddChannel
	users   []*member
	history []Message
	bans    map[string]bool
	media   *Media
	uid     int

	items     []*plItem
	current   *plItem
	nextUID   int
	permTable map[string]float64 // built from the defaults and cfg.Permissions
	lock      bool
	lockSet   bool // lock was set by SetPlaylistLocked; else registered channels start locked
	poll      *poll
	voteskips map[string]bool
	leader    string
	motd      string
	position  float64
	paused    bool
}

// member is a logged-in user in a channel: a connection or a virtual user.
type member struct {
	name   string
	rank   float64
	conn   *conn // nil for virtual users
	afk    bool
	muted  bool
	smuted bool
}

func (ch *channel) applyDefaults() {
	if ch.cfg.AntiFloodBurst <= 0 {
		ch.cfg.AntiFloodBurst = 4
	}
	if ch.cfg.AntiFloodSustained <= 0 {
		ch.cfg.AntiFloodSustained = 1
	}
}

// optsPayload is the channelOpts event: the options a client can see.
func (ch *channel) optsPayload() map[string]any {
	b, sus := ch.cfg.AntiFloodBurst, ch.cfg.AntiFloodSustained
	ratio := ch.cfg.VoteskipRatio
	if ratio == 0 {
		ratio = 0.5
	}
	return map[string]any{
		"chat_antiflood":        ch.cfg.AntiFlood && !ch.cfg.HideAntiFlood,
		"chat_antiflood_params": map[string]any{"burst": b, "sustained": sus, "cooldown": float64(b) / sus},
		"password":              ch.cfg.Password != "",
		"allow_voteskip":        !ch.cfg.VoteskipOff,
		"voteskip_ratio":        ratio,
		"afk_timeout":           600,
		"allow_dupes":           ch.cfg.AllowDupes,
	}
}

func (ch *channel) user(name string) *member {
	for _, u := range ch.users {
		if strings.EqualFold(u.name, name) {
			return u
		}
	}
	return nil
}

func (ch *channel) connsNamed(name string) []*conn {
	var out []*conn
	for c := range ch.s.conns {
		if c.ch == ch && c.loggedIn && strings.EqualFold(c.name, name) {
			out = append(out, c)
		}
	}
	return out
}

func (ch *channel) addUser(u *member) {
	ch.users = append(ch.users, u)
	ch.emitAll("addUser", userPayload(u))
	ch.s.notifyLocked()
}

func (ch *channel) removeUser(u *member) {
	for i, v := range ch.users {
		if v == u {
			ch.users = append(ch.users[:i], ch.users[i+1:]...)
			break
		}
	}
	ch.emitAll("userLeave", map[string]any{"name": u.name})
	ch.s.notifyLocked()
}

// emitAll sends an event to every connection in the channel, logged in or
// not (anonymous viewers see chat too).
func (ch *channel) emitAll(event string, arg any) {
	var f []byte // encoded once, for everyone
	for c := range ch.s.conns {
		if c.ch == ch {
			if f == nil {
				if arg == nil {
					f, _ = socketio.EncodeEvent(event)
				} else {
					f, _ = socketio.EncodeEvent(event, arg)
				}
			}
			c.sendFrame(f)
		}
	}
}

func userPayload(u *member) map[string]any {
	return map[string]any{
		"name":    u.name,
		"rank":    u.rank,
		"profile": map[string]any{"image": "", "text": ""},
		"meta":    map[string]any{"afk": u.afk, "muted": u.muted && !u.smuted},
	}
}

func mediaPayload(m Media) map[string]any {
	dur := "--:--"
	if m.Seconds > 0 {
		sec := int(m.Seconds)
		if sec >= 3600 {
			dur = fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
		} else {
			dur = fmt.Sprintf("%02d:%02d", sec/60, sec%60)
		}
	}
	return map[string]any{
		"id": m.ID, "title": m.Title, "seconds": m.Seconds, "duration": dur, "type": m.Type,
		"meta": map[string]any{}, "currentTime": -3, "paused": true,
	}
}

// floodLimiter is CyTube's chat limiter: burst messages at once, then one
// per 1/sustained seconds; it resets after burst/sustained seconds without an
// accepted message.
type floodLimiter struct {
	count int
	last  time.Time
}

func (f *floodLimiter) allow(now time.Time, burst int, sustained float64) bool {
	cooldown := time.Duration(float64(burst) / sustained * float64(time.Second))
	if now.Sub(f.last) > cooldown {
		f.count = 0
	}
	if f.count < burst || now.Sub(f.last) >= time.Duration(float64(time.Second)/sustained) {
		f.count++
		f.last = now
		return true
	}
	return false
}

var (
	urlRe    = regexp.MustCompile(`https?://[^\s<>"]+`)
	codeRe   = regexp.MustCompile("`(.+?)`")
	strongRe = regexp.MustCompile(`\*(.+?)\*`)
	emRe     = regexp.MustCompile(`_(.+?)_`)
	strikeRe = regexp.MustCompile(`~~(.+?)~~`)
	spoilRe  = regexp.MustCompile(`\[sp\](.+?)\[/sp\]`)
	// Commands CyTube consumes; anything else starting with / is plain chat.
	commands = map[string]bool{
		"/me": true, "/sp": true, "/say": true, "/shout": true, "/rcv": true, "/afk": true, "/clear": true,
		"/mute": true, "/smute": true, "/unmute": true, "/unsmute": true, "/kick": true, "/kickanons": true,
		"/ban": true, "/ipban": true, "/banip": true, "/rank": true, "/poll": true, "/hpoll": true,
		"/clean": true, "/cleantitle": true, "/d": true, "/a": true,
	}
)

// prepare applies CyTube's first steps to a chat line: truncation to the
// length limit (in UTF-16 units), control characters to spaces, blank
// lines dropped, and /me. It reports ok=false when nothing is to be sent
// (blank, or a command that CyTube consumes).
func (s *Server) prepare(msg string) (string, map[string]any, bool) {
	msg = truncateUTF16(msg, s.cfg.MaxChatLength)
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, msg)
	if strings.TrimSpace(msg) == "" {
		return "", nil, false
	}
	meta := map[string]any{}
	if strings.HasPrefix(msg, "/") {
		word, rest, _ := strings.Cut(msg, " ")
		w := strings.ToLower(word)
		if len(w) > 2 && w[:2] == "/d" && strings.Trim(w[2:], "0123456789") == "" {
			w = "/d"
		}
		switch {
		case w == "/me":
			if strings.TrimSpace(rest) == "" {
				return "", nil, false
			}
			meta["addClass"] = "action"
			meta["action"] = true
			msg = rest
		case commands[w]:
			return "", nil, false
		}
	}
	return msg, meta, true
}

// render turns prepared text into the HTML CyTube delivers: escaped, links
// made into anchors, and the default filters in registered channels.
func render(text string, registered bool) string {
	if !strings.Contains(text, "://") { // most lines: no link to make
		return filterText(text, registered)
	}
	var b strings.Builder
	last := 0
	for _, loc := range urlRe.FindAllStringIndex(text, -1) {
		b.WriteString(filterText(text[last:loc[0]], registered))
		u := escape(text[loc[0]:loc[1]])
		b.WriteString(`<a href="` + u + `" target="_blank" rel="noopener noreferrer">` + u + `</a>`)
		last = loc[1]
	}
	b.WriteString(filterText(text[last:], registered))
	return b.String()
}

func filterText(s string, registered bool) string {
	s = escape(s)
	if registered && strings.ContainsAny(s, "`*_~[") {
		s = codeRe.ReplaceAllString(s, "<code>$1</code>")
		s = strongRe.ReplaceAllString(s, "<strong>$1</strong>")
		s = emRe.ReplaceAllString(s, "<em>$1</em>")
		s = strikeRe.ReplaceAllString(s, "<s>$1</s>")
		s = spoilRe.ReplaceAllString(s, `<span class="spoiler">$1</span>`)
	}
	return s
}

// escape leaves only & < > escaped, as CyTube's sanitizer does in the end.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return htmlEscaper.Replace(s)
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func truncateUTF16(s string, max int) string {
	n := 0
	for i, r := range s {
		n += len(utf16.Encode([]rune{r}))
		if n > max {
			return s[:i]
		}
	}
	return s
}

func (s *Server) broadcastChatLocked(ch *channel, from, text string, meta map[string]any) {
	m := Message{Channel: ch.name, From: from, HTML: render(text, ch.cfg.Registered), Meta: meta, Time: s.now().UnixMilli()}
	ch.emitAll("chatMsg", map[string]any{"username": m.From, "msg": m.HTML, "meta": m.Meta, "time": m.Time})
	ch.history = append(ch.history, m)
	if over := len(ch.history) - s.cfg.HistoryLength; over > 0 {
		ch.history = append([]Message(nil), ch.history[over:]...)
	}
	s.recordLocked(m)
}

func (s *Server) deliverPMLocked(ch *channel, from, to *member, text string, meta map[string]any) {
	m := Message{Channel: ch.name, From: from.name, To: to.name, HTML: render(text, ch.cfg.Registered), Meta: meta, Time: s.now().UnixMilli()}
	payload := map[string]any{"username": m.From, "msg": m.HTML, "meta": m.Meta, "time": m.Time, "to": m.To}
	if from.conn != nil {
		from.conn.emit("pm", payload)
	}
	if to.conn != nil && to.conn != from.conn {
		to.conn.emit("pm", payload)
	}
	s.recordLocked(m)
}
