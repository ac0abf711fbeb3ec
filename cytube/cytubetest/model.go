package cytubetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roseybot/rosey/cytube/medialink"
)

// registeredPerms is CyTube's DEFAULT_PERMISSIONS (registered channels).
var registeredPerms = map[string]float64{
	"seeplaylist": -1, "playlistadd": 1.5, "playlistnext": 1.5, "playlistmove": 1.5, "playlistdelete": 2,
	"playlistjump": 1.5, "playlistaddlist": 1.5, "oplaylistadd": -1, "oplaylistnext": 1.5, "oplaylistmove": 1.5,
	"oplaylistdelete": 2, "oplaylistjump": 1.5, "oplaylistaddlist": 1.5, "playlistaddcustom": 3,
	"playlistaddrawfile": 2, "playlistaddlive": 1.5, "exceedmaxlength": 2, "addnontemp": 2, "settemp": 2,
	"playlistshuffle": 2, "playlistclear": 2, "pollctl": 1.5, "pollvote": -1, "viewhiddenpoll": 1.5,
	"voteskip": -1, "viewvoteskip": 1.5, "mute": 1.5, "kick": 1.5, "ban": 2, "motdedit": 3, "filteredit": 3,
	"filterimport": 3, "emoteedit": 3, "emoteimport": 3, "playlistlock": 2, "leaderctl": 2, "drink": 1.5,
	"chat": 0, "chatclear": 2, "exceedmaxitems": 2, "deletefromchannellib": 2, "exceedmaxdurationperuser": 2,
}

// unregisteredPerms is CyTube's loadUnregistered: permissive, and without
// mute, kick, ban or motdedit at all (nobody may).
var unregisteredPerms = map[string]float64{
	"seeplaylist": -1, "playlistadd": -1, "playlistnext": 0, "playlistmove": 0, "playlistdelete": 0,
	"playlistjump": 0, "playlistaddlist": 0, "oplaylistadd": -1, "oplaylistnext": 0, "oplaylistmove": 0,
	"oplaylistdelete": 0, "oplaylistjump": 0, "oplaylistaddlist": 0, "playlistaddcustom": 0, "playlistaddlive": 0,
	"exceedmaxlength": 0, "addnontemp": 0, "settemp": 0, "playlistshuffle": 0, "playlistclear": 0, "pollctl": 0,
	"pollvote": -1, "viewhiddenpoll": 1.5, "voteskip": -1, "viewvoteskip": 1.5, "playlistlock": 2, "leaderctl": 0,
	"drink": 0, "chat": 0, "chatclear": 2, "exceedmaxitems": 2, "deletefromchannellib": 2,
}

// plItem is one playlist item.
type plItem struct {
	uid     int
	media   Media
	temp    bool
	queueby string
}

type poll struct {
	title     string
	options   []string
	votes     map[string]int // by voter key (IP, or name for a virtual user)
	hidden    bool
	initiator string
	timestamp int64
	timer     *time.Timer
}

func (ch *channel) perms() map[string]float64 {
	if ch.permTable != nil {
		return ch.permTable
	}
	base := unregisteredPerms
	if ch.cfg.Registered {
		base = registeredPerms
	}
	t := make(map[string]float64, len(base))
	for k, v := range base {
		t[k] = v
	}
	for k, v := range ch.cfg.Permissions {
		t[k] = v
	}
	ch.permTable = t
	return t
}

// can is CyTube's hasPermission: playlist permissions use their "o"
// variant when the playlist is open; a permission not set allows nobody.
func (ch *channel) can(rank float64, node string) bool {
	p := ch.perms()
	if strings.HasPrefix(node, "playlist") && !ch.locked() {
		if r, ok := p["o"+node]; ok && rank >= r {
			return true
		}
	}
	r, ok := p[node]
	return ok && rank >= r
}

func (ch *channel) locked() bool {
	if ch.lockSet {
		return ch.lock
	}
	return ch.cfg.Registered
}

func (ch *channel) itemPayload(it *plItem) map[string]any {
	m := mediaPayload(it.media)
	delete(m, "currentTime")
	delete(m, "paused")
	return map[string]any{"media": m, "uid": it.uid, "temp": it.temp, "queueby": it.queueby}
}

func (ch *channel) playlistPayload() []any {
	out := make([]any, 0, len(ch.items))
	for _, it := range ch.items {
		out = append(out, ch.itemPayload(it))
	}
	return out
}

func (ch *channel) metaPayload() map[string]any {
	total := 0.0
	for _, it := range ch.items {
		total += it.media.Seconds
	}
	return map[string]any{"count": len(ch.items), "rawTime": total, "time": mediaPayload(Media{Seconds: total})["duration"]}
}

func (ch *channel) index(uid int) int {
	for i, it := range ch.items {
		if it.uid == uid {
			return i
		}
	}
	return -1
}

// play makes it current and tells everyone; it starts at CyTube's 3 s
// lead-in.
func (ch *channel) play(it *plItem) { ch.playAt(it, -3) }

// playAt is play from at seconds, as CyTube's startPlayback(time): paused
// while at is negative (the lead-in).
func (ch *channel) playAt(it *plItem, at float64) {
	ch.current = it
	ch.uid = it.uid
	m := it.media
	ch.media = &m
	ch.position, ch.paused = at, at < 0
	p := mediaPayload(it.media)
	p["currentTime"], p["paused"] = at, at < 0
	ch.emitAll("setCurrent", it.uid)
	ch.emitAll("changeMedia", p)
	ch.voteskips = nil
}

// advance plays the item after the current one, as CyTube's _playNext
// does: the item after the last is the first, so a single item plays again
// from the start. A temporary current item is deleted instead, and the
// item after it (or the first, unless that was itself) plays. With nothing
// playing it does nothing, as CyTube's _playNext, even with items queued.
func (ch *channel) advance() {
	old := ch.current
	if old == nil {
		return
	}
	next := ch.after(old)
	if old.temp {
		ch.deleteItem(old.uid)
		if next == old {
			next = nil
		}
	}
	if next != nil {
		ch.play(next)
	} else {
		ch.current, ch.media = nil, nil
	}
}

// after returns the item after it, the first after the last (it itself
// when it is the only one), or nil for an empty playlist.
func (ch *channel) after(it *plItem) *plItem {
	if i := ch.index(it.uid); i >= 0 && i+1 < len(ch.items) {
		return ch.items[i+1]
	}
	if len(ch.items) > 0 {
		return ch.items[0]
	}
	return nil
}

func (ch *channel) deleteItem(uid int) bool {
	i := ch.index(uid)
	if i < 0 {
		return false
	}
	ch.items = append(ch.items[:i], ch.items[i+1:]...)
	ch.emitAll("delete", map[string]any{"uid": uid})
	ch.emitAll("setPlaylistMeta", ch.metaPayload())
	if ch.current != nil && ch.current.uid == uid {
		ch.current = nil
	}
	return true
}

// resolve looks media up the way a server without internet access can: a
// known item (Server.AddMedia), a live link, or a custom embed.
func (s *Server) resolve(typ, id, title string) (Media, string) {
	if m, ok := s.media[typ+":"+id]; ok {
		return m, ""
	}
	switch typ {
	case "hl", "rt", "tw", "li":
		return Media{Type: typ, ID: id, Title: "Livestream"}, ""
	case "cu":
		sum := sha256.Sum256([]byte(id))
		if title == "" {
			title = "Custom Media"
		}
		return Media{Type: typ, ID: "cu:" + hex.EncodeToString(sum[:])[:22], Title: title}, ""
	case "yt", "yp":
		return Media{}, "The YouTube API now requires an API key.  Please see the documentation for youtube-v3-key in config.template.yaml"
	case "fi":
		return Media{}, "Raw file playback is not enabled on this server"
	}
	return Media{}, "Unknown media type '" + typ + "'"
}

func isLive(typ string) bool {
	switch typ {
	case "tw", "li", "rt", "hl", "cu":
		return true
	}
	return false
}

// queue handles a queue event as CyTube's handleQueue and _addItem do.
func (c *conn) queueMedia(obj map[string]any) {
	s, ch := c.s, c.ch
	if ch == nil || !c.loggedIn {
		return
	}
	id, _ := obj["id"].(string)
	typ, _ := obj["type"].(string)
	pos, _ := obj["pos"].(string)
	if pos != "next" && pos != "end" {
		return
	}
	rank := c.rank
	link := medialink.URL(typ, id)
	fail := func(msg string) {
		c.emit("queueFail", map[string]any{"msg": msg, "link": link, "id": id})
	}
	if !ch.can(rank, "playlistadd") || pos == "next" && !ch.can(rank, "playlistnext") {
		return
	}
	switch {
	case typ == "yp" && !ch.can(rank, "playlistaddlist"):
		fail("You don't have permission to add playlists")
		return
	case isLive(typ) && typ != "cu" && !ch.can(rank, "playlistaddlive"):
		fail("You don't have permission to add live media")
		return
	case typ == "cu" && !ch.can(rank, "playlistaddcustom"):
		fail("You don't have permission to add custom embeds")
		return
	case (typ == "fi" || typ == "cm") && !ch.can(rank, "playlistaddrawfile"):
		fail("You don't have permission to add raw video files")
		return
	}
	temp, _ := obj["temp"].(bool)
	temp = temp || !ch.can(rank, "addnontemp")
	burst, sustained := 3, 1.0
	if rank >= 2 {
		burst, sustained = 10, 2
	}
	if !c.queueLimit.allow(time.Now(), burst, sustained) {
		fail("You are adding videos too quickly")
		return
	}
	if videos, ok := s.ytLists[id]; typ == "yp" && ok {
		c.queueVideos(videos, id, temp, pos == "next")
		return
	}
	title, _ := obj["title"].(string)
	m, errText := s.resolve(typ, id, title)
	if errText != "" {
		fail(errText)
		return
	}
	for _, it := range ch.items {
		if it.media.Type == m.Type && it.media.ID == m.ID && !ch.cfg.AllowDupes && (pos == "end" || it == ch.current) {
			fail("This item is already on the playlist")
			return
		}
	}
	it := ch.insertLocked(m, c.name, temp, pos == "next")
	if len(ch.items) == 1 {
		ch.play(it)
	}
}

// queueVideos adds a YouTube playlist's videos as CyTube's
// queueYouTubePlaylist does: each on its own, a failure naming the
// playlist's id and the video's link; queued next, in reverse order.
func (c *conn) queueVideos(videos []Media, id string, temp, next bool) {
	ch := c.ch
	vids := append([]Media(nil), videos...)
	if next {
		slices.Reverse(vids)
		if len(ch.items) == 0 && len(vids) > 0 { // the real first video first
			vids = append(vids[len(vids)-1:], vids[:len(vids)-1]...)
		}
	}
	for _, m := range vids {
		dup := false
		for _, it := range ch.items {
			if it.media.Type == m.Type && it.media.ID == m.ID && !ch.cfg.AllowDupes && (!next || it == ch.current) {
				dup = true
			}
		}
		if dup {
			c.emit("queueFail", map[string]any{"msg": "This item is already on the playlist", "link": medialink.URL(m.Type, m.ID), "id": id})
			continue
		}
		it := ch.insertLocked(m, c.name, temp, next)
		if len(ch.items) == 1 {
			ch.play(it)
		}
	}
}

// playlistEvent handles the playlist events other than queue.
func (c *conn) playlistEvent(event string, arg json.RawMessage, obj map[string]any) {
	ch := c.ch
	if ch == nil || !c.loggedIn {
		return
	}
	rank := c.rank
	switch event {
	case "delete":
		var uid float64
		if json.Unmarshal(arg, &uid) != nil || !ch.can(rank, "playlistdelete") {
			return // CyTube wants a number, and ignores the rest silently
		}
		// The item after the one playing (the first after the last)
		// plays when it is deleted, unless it was the only one; deleting
		// another item, or one while nothing plays, plays nothing.
		var next *plItem
		if ch.current != nil && ch.current.uid == int(uid) {
			next = ch.after(ch.current)
		}
		ch.deleteItem(int(uid))
		if next != nil && ch.index(next.uid) >= 0 {
			ch.play(next)
		}
	case "jumpTo":
		var v any
		_ = json.Unmarshal(arg, &v)
		uid, ok := numberish(v)
		if !ok || !ch.can(rank, "playlistjump") {
			return
		}
		if i := ch.index(uid); i >= 0 {
			old := ch.current
			ch.play(ch.items[i])
			if old != nil && old.temp && old != ch.items[ch.index(uid)] {
				ch.deleteItem(old.uid)
			}
		}
	case "playNext":
		if ch.can(rank, "playlistjump") {
			ch.advance()
		}
	case "moveMedia":
		if !ch.can(rank, "playlistmove") {
			return
		}
		from, ok := numberish(obj["from"])
		fi := ch.index(from)
		if !ok || fi < 0 {
			return
		}
		it := ch.items[fi]
		rest := append(append([]*plItem(nil), ch.items[:fi]...), ch.items[fi+1:]...)
		var at int
		switch a := obj["after"].(type) {
		case string:
			switch a {
			case "prepend":
				at = 0
			case "append":
				at = len(rest)
			default:
				n, err := strconv.Atoi(a)
				if err != nil {
					return
				}
				obj["after"] = float64(n)
				c.playlistEvent(event, arg, obj)
				return
			}
		default:
			uid, ok := numberish(a)
			if !ok || uid == from {
				return
			}
			i := -1
			for j, o := range rest {
				if o.uid == uid {
					i = j
				}
			}
			if i < 0 {
				return
			}
			at = i + 1
		}
		ch.items = append(rest[:at], append([]*plItem{it}, rest[at:]...)...)
		ch.emitAll("moveVideo", obj)
	case "setTemp":
		uid, ok := numberish(obj["uid"])
		temp, ok2 := obj["temp"].(bool)
		if !ok || !ok2 || !ch.can(rank, "settemp") {
			return
		}
		if i := ch.index(uid); i >= 0 {
			ch.items[i].temp = temp
			ch.emitAll("setTemp", map[string]any{"uid": uid, "temp": temp})
		}
	case "clearPlaylist":
		if !ch.can(rank, "playlistclear") {
			return
		}
		ch.items, ch.current, ch.media = nil, nil, nil
		ch.emitAll("playlist", []any{})
		ch.emitAll("setPlaylistMeta", ch.metaPayload())
	case "shufflePlaylist":
		if !ch.can(rank, "playlistshuffle") {
			return
		}
		rand.Shuffle(len(ch.items), func(i, j int) { ch.items[i], ch.items[j] = ch.items[j], ch.items[i] })
		at := -3.0
		if cur := ch.current; cur != nil { // CyTube's handleShuffle puts the item playing first
			i := ch.index(cur.uid)
			copy(ch.items[1:i+1], ch.items[:i])
			ch.items[0] = cur
			if ch.position != 0 { // startPlayback(currentTime): 0 is the lead-in
				at = ch.position
			}
		}
		for _, it := range ch.items {
			it.uid = ch.nextUID
			ch.nextUID++
		}
		ch.emitAll("playlist", ch.playlistPayload())
		if len(ch.items) > 0 {
			ch.playAt(ch.items[0], at) // resumed where it was
		}
	case "voteskip":
		c.voteskip()
	case "newPoll":
		// handled with its ack in handle
	case "vote":
		o, ok := numberish(obj["option"])
		if !ok || ch.poll == nil || !ch.can(rank, "pollvote") || o < 0 || o >= len(ch.poll.options) {
			return
		}
		key := c.ip
		if prev, had := ch.poll.votes[key]; !had || prev != o {
			ch.poll.votes[key] = o
			ch.broadcastPoll("updatePoll")
		}
	case "closePoll":
		if ch.can(rank, "pollctl") {
			ch.closePoll()
		}
	case "assignLeader":
		if !ch.can(rank, "leaderctl") {
			c.s.kickLocked(c, "Attempted assignLeader without sufficient permission")
			return
		}
		name, _ := obj["name"].(string)
		if name != "" && ch.user(name) == nil {
			return
		}
		if name != "" {
			name = ch.user(name).name
		}
		ch.leader = name
		ch.emitAll("setLeader", name)
	case "setMotd":
		if !ch.can(rank, "motdedit") {
			c.s.kickLocked(c, "Attempted setMotd with insufficient permission")
			return
		}
		motd, _ := obj["motd"].(string)
		ch.motd = motd
		ch.emitAll("setMotd", motd)
	case "setOptions":
		if rank < 2 {
			c.s.kickLocked(c, "Attempted setOptions as a non-moderator")
		}
	case "setPermissions":
		if rank < 3 {
			c.s.kickLocked(c, "Attempted setPermissions as a non-admin")
		}
	case "setChannelRank":
		c.setChannelRank(obj)
	}
}

func numberish(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		if n == math.Trunc(n) {
			return int(n), true
		}
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// newPoll handles newPoll and answers its ack, as CyTube does.
func (c *conn) newPoll(obj map[string]any) map[string]any {
	ch := c.ch
	if ch == nil || !c.loggedIn || !ch.can(c.rank, "pollctl") {
		return nil // CyTube returns without acking
	}
	fail := func(msg string) map[string]any { return map[string]any{"error": map[string]any{"message": msg}} }
	ch.closePoll()
	title, ok := obj["title"].(string)
	if !ok {
		return fail("Poll title must be a string.")
	}
	if len(title) > 255 {
		return fail("Poll title must be no more than 255 characters long.")
	}
	raw, ok := obj["opts"].([]any)
	if !ok {
		return fail("Poll options must be an array.")
	}
	if len(raw) > 50 {
		return fail("Polls are limited to a maximum of 50 options.")
	}
	opts := make([]string, 0, len(raw))
	for _, o := range raw {
		s, ok := o.(string)
		if !ok {
			return fail("Poll options must be strings.")
		}
		if len(s) == 0 || len(s) > 255 {
			return fail("Poll options must be 1-255 characters long.")
		}
		opts = append(opts, s)
	}
	p := &poll{title: title, options: opts, votes: map[string]int{}, initiator: c.name, timestamp: time.Now().UnixMilli()}
	p.hidden, _ = obj["obscured"].(bool)
	if t, has := obj["timeout"]; has {
		sec, ok := t.(float64)
		if !ok || sec < 1 || sec > 86400 {
			return fail("Poll timeout must be between 1 and 86400 seconds")
		}
		s := c.s
		p.timer = time.AfterFunc(time.Duration(sec*float64(time.Second)), func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if ch.poll == p {
				ch.closePoll()
			}
		})
	}
	ch.poll = p
	ch.broadcastPoll("newPoll")
	return map[string]any{}
}

func (ch *channel) pollFrame(p *poll, showHidden bool) map[string]any {
	counts := make([]int, len(p.options))
	for _, o := range p.votes {
		counts[o]++
	}
	out := make([]any, len(counts))
	for i, n := range counts {
		switch {
		case !p.hidden:
			out[i] = n
		case showHidden:
			out[i] = fmt.Sprintf("%d?", n)
		default:
			out[i] = "?"
		}
	}
	return map[string]any{"title": p.title, "options": p.options, "counts": out, "initiator": p.initiator, "timestamp": p.timestamp}
}

func (ch *channel) broadcastPoll(event string) {
	for c := range ch.s.conns {
		if c.ch == ch {
			c.emit(event, ch.pollFrame(ch.poll, ch.can(c.rank, "viewhiddenpoll")))
		}
	}
}

func (ch *channel) closePoll() {
	p := ch.poll
	if p == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.hidden {
		p.hidden = false
		ch.emitAll("updatePoll", ch.pollFrame(p, true))
	}
	ch.poll = nil
	ch.emitAll("closePoll", nil)
}

// voteskip counts a vote by the connection's IP, with CyTube's rule:
// it passes at max(1, ceil(eligible × ratio)) votes, where eligible is
// the users minus the AFK and those without the voteskip permission.
func (c *conn) voteskip() {
	ch := c.ch
	if !ch.can(c.rank, "voteskip") || !ch.voteskipAllowed() {
		return
	}
	ch.addVoteskip(c.ip)
}

func (ch *channel) voteskipAllowed() bool {
	return ch.cfg.VoteskipOff == false
}

func (ch *channel) addVoteskip(key string) {
	if ch.current == nil {
		return
	}
	if ch.voteskips == nil {
		ch.voteskips = map[string]bool{}
	}
	if ch.voteskips[key] {
		return
	}
	ch.voteskips[key] = true
	eligible := 0
	for _, u := range ch.users {
		if !u.afk && ch.can(u.rank, "voteskip") {
			eligible++
		}
	}
	ratio := ch.cfg.VoteskipRatio
	if ratio == 0 {
		ratio = 0.5
	}
	need := max(1, int(math.Ceil(float64(eligible)*ratio)))
	count := len(ch.voteskips)
	for c := range ch.s.conns {
		if c.ch == ch && ch.can(c.rank, "viewvoteskip") {
			c.emit("voteskip", map[string]any{"count": count, "need": need})
		}
	}
	if count >= need {
		ch.s.serverChatLocked(ch, "[voteskip]", fmt.Sprintf("Voteskip passed: %d/%d skipped; eligible voters: %d", count, eligible, eligible), -1)
		ch.advance()
	}
}

// serverChatLocked sends a pseudo-user line ([server], [voteskip]) to the
// users at or above minRank; it is not kept in the history.
func (s *Server) serverChatLocked(ch *channel, from, msg string, minRank float64) {
	payload := map[string]any{"username": from, "msg": escape(msg), "meta": map[string]any{"addClass": "server-whisper", "addClassToNameAndTimestamp": true}, "time": s.now().UnixMilli()}
	for c := range s.conns {
		if c.ch == ch && c.rank >= minRank {
			c.emit("chatMsg", payload)
		}
	}
}

func (ch *channel) userMeta(u *member) {
	for c := range ch.s.conns {
		if c.ch != ch {
			continue
		}
		meta := map[string]any{"afk": u.afk, "muted": u.muted && (!u.smuted || c.rank >= 2)}
		if c.rank >= 2 {
			meta["smuted"] = u.smuted
		}
		c.emit("setUserMeta", map[string]any{"name": u.name, "meta": meta})
	}
}

// command runs the moderation chat commands CyTube implements; it reports
// whether msg was one.
func (c *conn) command(msg string) bool {
	s, ch := c.s, c.ch
	fields := strings.Fields(msg)
	if len(fields) == 0 {
		return false
	}
	target := ""
	if len(fields) > 1 {
		target = fields[1]
	}
	reason := ""
	if len(fields) > 2 {
		reason = strings.Join(fields[2:], " ")
	}
	errorMsg := func(m string) { c.emit("errorMsg", map[string]any{"msg": m}) }
	modMsg := func(m string, minRank float64) { s.serverChatLocked(ch, "[server]", m, minRank) }
	switch strings.ToLower(fields[0]) {
	case "/kick":
		if !ch.can(c.rank, "kick") {
			return true
		}
		if target == "" {
			errorMsg("No kick target specified.  If you're trying to kick anonymous users, use /kickanons")
			return true
		}
		u := ch.user(target)
		if u == nil {
			return true
		}
		if u.rank >= c.rank {
			errorMsg("You do not have permission to kick " + u.name)
			return true
		}
		c.kickMember(u, reason)
		modMsg(c.name+" kicked "+u.name, 2)
	case "/ban", "/ipban", "/banip":
		if target == "" {
			errorMsg("No ban target specified.")
			return true
		}
		if !ch.can(c.rank, "ban") {
			errorMsg("You do not have ban permissions on this channel")
			return true
		}
		name := strings.ToLower(target)
		if name == strings.ToLower(c.name) {
			errorMsg("You cannot ban yourself")
			return true
		}
		if u := ch.user(name); u != nil && u.rank >= c.rank {
			errorMsg("You don't have permission to ban " + name)
			return true
		}
		if ch.bans[name] {
			errorMsg(name + " is already banned")
			return true
		}
		ch.bans[name] = true
		minRank := ch.perms()["ban"]
		if fields[0] != "/ban" {
			modMsg(c.name+" banned 127.0.x.x ("+name+")", minRank)
		}
		modMsg(c.name+" namebanned "+name, minRank)
		if u := ch.user(name); u != nil {
			c.kickMember(u, "You're banned!")
		}
	case "/mute", "/smute":
		if !ch.can(c.rank, "mute") {
			return true
		}
		cmd := fields[0][1:]
		if target == "" {
			errorMsg("/" + cmd + " requires a target name")
			return true
		}
		u := ch.user(target)
		if u == nil {
			errorMsg("/" + cmd + " target " + strings.ToLower(target) + " not present in channel.")
			return true
		}
		if u.rank >= c.rank {
			errorMsg("/" + cmd + " failed - " + u.name + " has equal or higher rank than you.")
			return true
		}
		u.muted, u.smuted = true, cmd == "smute"
		ch.userMeta(u)
		verb := "muted"
		if u.smuted {
			verb = "shadowmuted"
		}
		modMsg(c.name+" "+verb+" "+u.name, ch.perms()["mute"])
	case "/unmute", "/unsmute":
		if !ch.can(c.rank, "mute") {
			return true
		}
		if target == "" {
			errorMsg("/unmute requires a target name")
			return true
		}
		u := ch.user(target)
		if u == nil || !u.muted {
			errorMsg(strings.ToLower(target) + " is not muted.")
			return true
		}
		u.muted, u.smuted = false, false
		ch.userMeta(u)
		modMsg(c.name+" unmuted "+u.name, ch.perms()["mute"])
	case "/clear":
		if ch.can(c.rank, "chatclear") {
			ch.history = nil
			ch.emitAll("clearchat", map[string]any{"clearedBy": c.name})
		}
	case "/afk":
		if u := ch.user(c.name); u != nil {
			u.afk = !u.afk
			ch.userMeta(u)
		}
	default:
		return false
	}
	return true
}

// kickMember kicks a connected member; a virtual one just leaves.
func (c *conn) kickMember(u *member, reason string) {
	if u.conn != nil {
		c.s.kickLocked(u.conn, reason)
		return
	}
	c.ch.removeUser(u)
}

func (c *conn) setChannelRank(obj map[string]any) {
	ch := c.ch
	fail := func(m string) { c.emit("channelRankFail", map[string]any{"msg": m}) }
	name, _ := obj["name"].(string)
	rank, ok := obj["rank"].(float64)
	if c.rank < 3 || !ok {
		return
	}
	u := ch.user(name)
	if u == nil || !userName.MatchString(name) {
		fail("Invalid target name " + name)
		return
	}
	if rank >= c.rank {
		fail("Updating user rank failed: You can't promote someone to a rank equal or higher than yourself, or demote them to below rank 1.")
		return
	}
	if strings.EqualFold(name, c.name) {
		fail("Updating user rank failed: You can't promote or demote yourself.")
		return
	}
	if u.rank >= c.rank {
		fail("Updating user rank failed: You can't promote or demote someone with equal or higher rank than you.")
		return
	}
	u.rank = rank
	if u.conn != nil {
		u.conn.rank = rank
		u.conn.emit("rank", rank)
	}
	ch.emitAll("setUserRank", map[string]any{"name": u.name, "rank": rank})
}
