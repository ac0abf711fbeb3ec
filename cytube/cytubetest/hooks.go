package cytubetest

import "strings"

// Item is a playlist item as the server holds it.
type Item struct {
	UID      int
	Media    Media
	Temp     bool
	QueuedBy string
}

// PollState is the open poll of a channel.
type PollState struct {
	Title     string
	Options   []string
	Counts    []int
	Hidden    bool
	Initiator string
}

// AddMedia makes media known to the server, so queueing its type and id
// succeeds with its title and duration. Without it the server refuses
// YouTube ("The YouTube API now requires an API key…") and raw files, as a
// CyTube without API keys does; live links and custom embeds always work.
func (s *Server) AddMedia(m Media) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[m.Type+":"+m.ID] = m
}

// AddYouTubePlaylist makes a YouTube playlist known to the server: queueing
// ("yp", id) adds each of its videos as CyTube does, one queue event each
// (or a queueFail naming the playlist's id and the video's link).
func (s *Server) AddYouTubePlaylist(id string, videos ...Media) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ytLists == nil {
		s.ytLists = map[string][]Media{}
	}
	s.ytLists[id] = append([]Media(nil), videos...)
}

// insertLocked puts m on the playlist (after the current item when next,
// else at the end) and broadcasts queue.
func (ch *channel) insertLocked(m Media, by string, temp, next bool) *plItem {
	it := &plItem{uid: ch.nextUID, media: m, temp: temp, queueby: by} // from 0, as CyTube
	ch.nextUID++
	at := len(ch.items)
	if next && ch.current != nil {
		at = ch.index(ch.current.uid) + 1
	}
	ch.items = append(ch.items, nil)
	copy(ch.items[at+1:], ch.items[at:])
	ch.items[at] = it
	var after any = "prepend"
	if at > 0 {
		after = ch.items[at-1].uid
	}
	ch.emitAll("queue", map[string]any{"item": ch.itemPayload(it), "after": after})
	ch.emitAll("setPlaylistMeta", ch.metaPayload())
	return it
}

// Queue makes a virtual user add m at the end of the playlist and returns
// its uid; the first item starts playing.
func (s *Server) Queue(channelName, by string, m Media, temp bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	it := ch.insertLocked(m, by, temp, false)
	if len(ch.items) == 1 {
		ch.play(it)
	}
	return it.uid
}

// EndMedia ends the current item as its time running out would: the next
// one plays and a temporary item is deleted.
func (s *Server) EndMedia(channelName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		ch.advance()
	}
}

// MediaUpdate sends mediaUpdate, as the server does every 5 s while it
// leads playback.
func (s *Server) MediaUpdate(channelName string, seconds float64, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		ch.position, ch.paused = seconds, paused
		ch.emitAll("mediaUpdate", map[string]any{"currentTime": seconds, "paused": paused})
	}
}

// SetAFK marks a present user AFK or back (setUserMeta to everyone).
func (s *Server) SetAFK(channelName, name string, afk bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return
	}
	if u := ch.user(name); u != nil {
		u.afk = afk
		ch.userMeta(u)
	}
}

// Voteskip makes a virtual user vote to skip (each virtual user counts as
// an IP of its own).
func (s *Server) Voteskip(channelName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil || !ch.voteskipAllowed() {
		return
	}
	ch.addVoteskip("virtual:" + strings.ToLower(name))
}

// SetPlaylistLocked locks or opens the playlist (setPlaylistLocked).
func (s *Server) SetPlaylistLocked(channelName string, locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	ch.lock, ch.lockSet = locked, true
	ch.emitAll("setPlaylistLocked", locked)
}

// OpenPoll opens a poll as a moderator would.
func (s *Server) OpenPoll(channelName, initiator, title string, options []string, hidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, true)
	ch.closePoll()
	ch.poll = &poll{title: title, options: options, votes: map[string]int{}, hidden: hidden, initiator: initiator, timestamp: s.now().UnixMilli()}
	ch.broadcastPoll("newPoll")
}

// Vote makes a virtual user vote in the open poll.
func (s *Server) Vote(channelName, voter string, option int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil || ch.poll == nil || option < 0 || option >= len(ch.poll.options) {
		return
	}
	ch.poll.votes["virtual:"+strings.ToLower(voter)] = option
	ch.broadcastPoll("updatePoll")
}

// Playlist returns a channel's playlist and the uid playing (-1 if none).
// Uids count from 0, as in CyTube.
func (s *Server) Playlist(channelName string) ([]Item, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil {
		return nil, 0
	}
	out := make([]Item, 0, len(ch.items))
	for _, it := range ch.items {
		out = append(out, Item{UID: it.uid, Media: it.media, Temp: it.temp, QueuedBy: it.queueby})
	}
	cur := -1
	if ch.current != nil {
		cur = ch.current.uid
	}
	return out, cur
}

// Poll returns a channel's open poll, or nil.
func (s *Server) Poll(channelName string) *PollState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	if ch == nil || ch.poll == nil {
		return nil
	}
	p := ch.poll
	st := &PollState{Title: p.title, Options: append([]string(nil), p.options...), Counts: make([]int, len(p.options)), Hidden: p.hidden, Initiator: p.initiator}
	for _, o := range p.votes {
		st.Counts[o]++
	}
	return st
}

// Banned reports whether name is banned from a channel.
func (s *Server) Banned(channelName, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelName, false)
	return ch != nil && ch.bans[strings.ToLower(name)]
}

// Leader returns who leads a channel ("" for nobody).
func (s *Server) Leader(channelName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		return ch.leader
	}
	return ""
}

// MOTD returns a channel's message of the day.
func (s *Server) MOTD(channelName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		return ch.motd
	}
	return ""
}

// Mute mutes (or with shadow, shadow-mutes) a present user as a moderator
// would; Unmute lifts it. Everyone is sent setUserMeta.
func (s *Server) Mute(channelName, name string, shadow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		if u := ch.user(name); u != nil {
			u.muted, u.smuted = true, shadow
			ch.userMeta(u)
		}
	}
}

// Unmute lifts a mute or shadow mute.
func (s *Server) Unmute(channelName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channelLocked(channelName, false); ch != nil {
		if u := ch.user(name); u != nil {
			u.muted, u.smuted = false, false
			ch.userMeta(u)
		}
	}
}
