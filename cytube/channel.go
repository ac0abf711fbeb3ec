package cytube

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/roseybot/rosey/protocol"
)

// chanState is what the connector knows of the channel, kept from CyTube's
// events and answered on cytube.state.*. Guarded by Connector.mu.
type chanState struct {
	items      []protocol.MediaItem
	current    int64 // the uid playing, when playing
	playing    bool
	position   float64
	paused     bool
	posAt      time.Time // when position was reported
	posPub     time.Time // when a position event was last published
	posPaused  bool      // paused, as last published
	locked     bool
	poll       *protocol.Poll
	options    json.RawMessage
	perms      map[string]float64
	motd       string
	emotes     []protocol.Emote
	leader     string
	count      int
	permsKnown bool
}

type itemJSON struct {
	Media struct {
		ID      string  `json:"id"`
		Title   string  `json:"title"`
		Seconds float64 `json:"seconds"`
		Type    string  `json:"type"`
	} `json:"media"`
	UID     jsonNumber `json:"uid"`
	Temp    bool       `json:"temp"`
	QueueBy string     `json:"queueby"`
}

func (it itemJSON) item() protocol.MediaItem {
	return protocol.MediaItem{
		UID: int64(it.UID), Title: it.Media.Title, Type: it.Media.Type, ID: it.Media.ID,
		URL: MediaURL(it.Media.Type, it.Media.ID), Duration: it.Media.Seconds, Temp: it.Temp, QueuedBy: it.QueueBy,
	}
}

type userMetaJSON struct {
	AFK    bool `json:"afk"`
	Muted  bool `json:"muted"`
	SMuted bool `json:"smuted"`
}

// indexLocked returns the index of uid in the playlist, or -1.
func (st *chanState) indexLocked(uid int64) int {
	for i, it := range st.items {
		if it.UID == uid {
			return i
		}
	}
	return -1
}

// afterUID reads CyTube's "after": a uid (where ""), or where "prepend"
// or "append".
func afterUID(raw json.RawMessage) (uid int64, where string, ok bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return 0, "", false
	}
	switch a := v.(type) {
	case float64:
		return int64(a), "", a >= 0 && a == float64(int64(a))
	case string:
		switch a {
		case "prepend", "append":
			return 0, a, true
		}
		n, err := strconv.ParseInt(a, 10, 64)
		return n, "", err == nil && n >= 0
	}
	return 0, "", false
}

// channelEvent keeps the channel state from one CyTube event and publishes
// what changed. It reports whether it knew the event.
func (s *session) channelEvent(name string, arg json.RawMessage) bool {
	c := s.c
	ch := c.cfg.Channel
	decode := func(v any) bool {
		if arg == nil || json.Unmarshal(arg, v) != nil {
			c.malformed.Add(1)
			c.log.Debug("ignoring event with unexpected payload", "event", name)
			return false
		}
		return true
	}
	st := &c.st
	switch name {
	case "playlist":
		var list []itemJSON
		if !decode(&list) {
			return true
		}
		items := make([]protocol.MediaItem, 0, len(list))
		for _, it := range list {
			items = append(items, it.item())
		}
		c.mu.Lock()
		st.items = items
		if len(items) == 0 {
			st.playing = false
		}
		ev := c.snapshotLocked()
		c.mu.Unlock()
		c.publish(protocol.PlaylistSnapshot, ev)
	case "queue":
		var q struct {
			Item  itemJSON        `json:"item"`
			After json.RawMessage `json:"after"`
		}
		if !decode(&q) {
			return true
		}
		after, where, _ := afterUID(q.After)
		it := q.Item.item()
		ev := protocol.PlaylistQueuedEvent{Channel: ch, Item: it, QueuedBy: it.QueuedBy}
		c.mu.Lock()
		at := 0
		if where == "" {
			ev.After = &after
			at = st.indexLocked(after) + 1
			if at == 0 {
				at = len(st.items)
			}
		}
		st.items = append(st.items, protocol.MediaItem{})
		copy(st.items[at+1:], st.items[at:])
		st.items[at] = it
		c.mu.Unlock()
		ev.Position = at
		c.publish(protocol.PlaylistQueued, ev)
	case "delete":
		var d struct {
			UID jsonNumber `json:"uid"`
		}
		if !decode(&d) {
			return true
		}
		ev := protocol.PlaylistDeletedEvent{Channel: ch, UID: int64(d.UID)}
		c.mu.Lock()
		if i := st.indexLocked(ev.UID); i >= 0 {
			it := st.items[i]
			ev.Item = &it
			st.items = append(st.items[:i], st.items[i+1:]...)
		}
		if len(st.items) == 0 {
			st.playing = false
		}
		c.mu.Unlock()
		c.publish(protocol.PlaylistDeleted, ev)
	case "moveVideo":
		var m struct {
			From  jsonNumber      `json:"from"`
			After json.RawMessage `json:"after"`
		}
		if !decode(&m) {
			return true
		}
		after, where, ok := afterUID(m.After)
		if !ok {
			return true
		}
		uid := int64(m.From)
		c.mu.Lock()
		if i := st.indexLocked(uid); i >= 0 {
			it := st.items[i]
			st.items = append(st.items[:i], st.items[i+1:]...)
			at := len(st.items)
			switch where {
			case "prepend":
				at = 0
			case "":
				if j := st.indexLocked(after); j >= 0 {
					at = j + 1
				}
			}
			st.items = append(st.items[:at], append([]protocol.MediaItem{it}, st.items[at:]...)...)
		}
		c.mu.Unlock()
		c.publish(protocol.PlaylistMoved, protocol.PlaylistMovedEvent{Channel: ch, UID: uid, After: append(json.RawMessage(nil), m.After...)})
	case "setTemp":
		var t struct {
			UID  jsonNumber `json:"uid"`
			Temp bool       `json:"temp"`
		}
		if !decode(&t) {
			return true
		}
		c.mu.Lock()
		if i := st.indexLocked(int64(t.UID)); i >= 0 {
			st.items[i].Temp = t.Temp
		}
		c.mu.Unlock()
		c.publish(protocol.PlaylistTemp, protocol.PlaylistTempEvent{Channel: ch, UID: int64(t.UID), Temp: t.Temp})
	case "setPlaylistLocked":
		var locked bool
		if !decode(&locked) {
			return true
		}
		c.mu.Lock()
		st.locked = locked
		c.mu.Unlock()
		c.publish(protocol.PlaylistLocked, protocol.PlaylistLockedEvent{Channel: ch, Locked: locked})
	case "queueFail", "queueWarn":
		var f struct {
			Msg  string `json:"msg"`
			Link string `json:"link"`
			ID   any    `json:"id"`
		}
		if !decode(&f) {
			return true
		}
		ev := protocol.PlaylistFailedEvent{Channel: ch, Message: PlainText(f.Msg), Link: f.Link}
		if id, ok := f.ID.(string); ok {
			ev.ID = id
		}
		subject := protocol.PlaylistFailed
		if name == "queueWarn" {
			subject = protocol.PlaylistWarning
		}
		c.publish(subject, ev)
	case "setCurrent":
		var uid jsonNumber
		if !decode(&uid) {
			return true
		}
		c.mu.Lock()
		st.current, st.playing = int64(uid), true
		c.mu.Unlock()
		c.publish(protocol.MediaCurrent, protocol.MediaCurrentEvent{Channel: ch, UID: int64(uid)})
	case "mediaUpdate":
		var m struct {
			CurrentTime float64 `json:"currentTime"`
			Paused      bool    `json:"paused"`
		}
		if !decode(&m) {
			return true
		}
		c.position(m.CurrentTime, m.Paused, false)
	case "setUserMeta":
		var m struct {
			Name string       `json:"name"`
			Meta userMetaJSON `json:"meta"`
		}
		if decode(&m) {
			c.userMeta(m.Name, m.Meta, true)
		}
	case "setAFK":
		var m struct {
			Name string `json:"name"`
			AFK  bool   `json:"afk"`
		}
		if decode(&m) {
			c.mu.Lock()
			u, ok := c.users[strings.ToLower(m.Name)]
			c.mu.Unlock()
			if ok {
				meta := userMetaJSON{AFK: m.AFK, Muted: u.muted, SMuted: u.smuted}
				c.userMeta(m.Name, meta, false)
			}
		}
	case "setLeader":
		var leader string
		if !decode(&leader) {
			return true
		}
		c.mu.Lock()
		st.leader = leader
		c.mu.Unlock()
		c.publish(protocol.UserLeader, protocol.UserLeaderEvent{Channel: ch, User: leader})
	case "usercount":
		var n jsonNumber
		if !decode(&n) {
			return true
		}
		c.mu.Lock()
		st.count = int(n)
		c.mu.Unlock()
		c.publish(protocol.UserCount, protocol.UserCountEvent{Channel: ch, Count: int(n)})
	case "newPoll", "updatePoll":
		var p struct {
			Title     string   `json:"title"`
			Options   []string `json:"options"`
			Counts    []any    `json:"counts"`
			Initiator string   `json:"initiator"`
			Timestamp int64    `json:"timestamp"`
		}
		if !decode(&p) {
			return true
		}
		poll := &protocol.Poll{Title: PlainText(p.Title), Initiator: p.Initiator, Timestamp: p.Timestamp}
		for _, o := range p.Options {
			poll.Options = append(poll.Options, PlainText(o))
		}
		counts := make([]int, 0, len(p.Counts))
		for _, v := range p.Counts {
			switch n := v.(type) {
			case float64:
				counts = append(counts, int(n))
			case string: // "3?" (hidden, shown to those allowed) or "?"
				poll.Hidden = true
				if k, err := strconv.Atoi(strings.TrimSuffix(n, "?")); err == nil {
					counts = append(counts, k)
				} else {
					counts = nil
				}
			}
			if counts == nil {
				break
			}
		}
		poll.Counts = counts
		c.mu.Lock()
		st.poll = poll
		c.mu.Unlock()
		subject := protocol.PollUpdated
		if name == "newPoll" {
			subject = protocol.PollOpened
		}
		c.publish(subject, protocol.PollEvent{Channel: ch, Poll: poll})
	case "closePoll":
		c.mu.Lock()
		poll := st.poll
		st.poll = nil
		c.mu.Unlock()
		c.publish(protocol.PollClosed, protocol.PollEvent{Channel: ch, Poll: poll})
	case "voteskip":
		var v struct {
			Count int `json:"count"`
			Need  int `json:"need"`
		}
		if decode(&v) {
			c.publish(protocol.MediaVoteskip, protocol.VoteskipEvent{Channel: ch, Count: v.Count, Need: v.Need})
		}
	case "setPermissions":
		var perms map[string]float64
		if !decode(&perms) {
			return true
		}
		c.mu.Lock()
		st.perms, st.permsKnown = perms, true
		c.mu.Unlock()
		c.publish(protocol.ChannelPermissions, protocol.ChannelPermissionsEvent{Channel: ch, Permissions: perms})
	case "setMotd":
		var motd string
		if !decode(&motd) {
			return true
		}
		c.mu.Lock()
		st.motd = motd
		c.mu.Unlock()
		c.publish(protocol.ChannelMOTD, protocol.ChannelMOTDEvent{Channel: ch, MOTD: motd})
	case "emoteList":
		var list []protocol.Emote
		if !decode(&list) {
			return true
		}
		c.mu.Lock()
		st.emotes = list
		c.mu.Unlock()
		c.publish(protocol.ChannelEmotes, protocol.ChannelEmotesEvent{Channel: ch, Emotes: list})
	default:
		return false
	}
	return true
}

// snapshotLocked returns the playlist as an event.
func (c *Connector) snapshotLocked() protocol.PlaylistSnapshotEvent {
	ev := protocol.PlaylistSnapshotEvent{Channel: c.cfg.Channel, Items: append([]protocol.MediaItem{}, c.st.items...), Locked: c.st.locked}
	if c.st.playing {
		cur := c.st.current
		ev.Current = &cur
	}
	return ev
}

// position records the playback position and publishes it on pause and
// resume, on a new item, and at most once per PositionEvery otherwise.
func (c *Connector) position(t float64, paused, newItem bool) {
	now := time.Now()
	c.mu.Lock()
	st := &c.st
	st.position, st.paused, st.posAt = t, paused, now
	pub := newItem || paused != st.posPaused || now.Sub(st.posPub) >= c.cfg.PositionEvery
	if pub {
		st.posPub, st.posPaused = now, paused
	}
	ev := protocol.MediaPositionEvent{Channel: c.cfg.Channel, UID: st.current, Time: t, Paused: paused}
	c.mu.Unlock()
	if pub {
		c.publish(protocol.MediaPosition, ev)
	}
}

// userMeta applies a user's AFK and mute flags and publishes the changes.
func (c *Connector) userMeta(name string, m userMetaJSON, muteKnown bool) {
	k := strings.ToLower(name)
	c.mu.Lock()
	u, ok := c.users[k]
	if !ok {
		c.mu.Unlock()
		return
	}
	afkChanged := u.afk != m.AFK
	muteChanged := muteKnown && (u.muted != m.Muted || u.smuted != m.SMuted)
	u.afk = m.AFK
	if muteKnown {
		u.muted, u.smuted = m.Muted || m.SMuted, m.SMuted
	}
	c.users[k] = u
	c.mu.Unlock()
	if afkChanged {
		c.publish(protocol.UserAFK, protocol.UserAFKEvent{Channel: c.cfg.Channel, User: u.name, AFK: u.afk})
	}
	if muteChanged {
		c.publish(protocol.UserMuted, protocol.UserMutedEvent{Channel: c.cfg.Channel, User: u.name, Muted: u.muted, Shadow: u.smuted})
	}
}

// serverMessage publishes errorMsg, noflood, spamFiltered and the bot's
// own kick on cytube.moderation.*.
func (c *Connector) serverMessage(name string, arg json.RawMessage) {
	var m struct {
		Msg    string `json:"msg"`
		Code   string `json:"code"`
		Action string `json:"action"`
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(arg, &m)
	ev := protocol.ServerMessage{Channel: c.cfg.Channel, Message: PlainText(m.Msg), Code: m.Code, Action: m.Action}
	subject := ""
	switch name {
	case "errorMsg":
		subject = protocol.ModerationError
	case "noflood":
		subject = protocol.ModerationNoFlood
	case "spamFiltered":
		subject, ev.Message, ev.Code = protocol.ModerationSpam, m.Reason, m.Reason
	case "kick":
		subject, ev.Message = protocol.ModerationKicked, m.Reason
	default:
		return
	}
	c.publish(subject, ev)
}
