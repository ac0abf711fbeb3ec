package protocol

import "encoding/json"

// Channel events, published by the connector. Every payload names its
// channel. docs/PROTOCOL.md gives a JSON example of each.
const (
	// PlaylistSnapshot carries a PlaylistSnapshot: the whole playlist, on
	// join and whenever CyTube re-sends it (clear, shuffle, reconnect).
	PlaylistSnapshot = "cytube.playlist.snapshot"
	// PlaylistQueued carries a PlaylistQueued event: an item was added.
	PlaylistQueued = "cytube.playlist.queued"
	// PlaylistDeleted carries a PlaylistDeleted event.
	PlaylistDeleted = "cytube.playlist.deleted"
	// PlaylistMoved carries a PlaylistMoved event.
	PlaylistMoved = "cytube.playlist.moved"
	// PlaylistTemp carries a PlaylistTemp event: an item's temp flag changed.
	PlaylistTemp = "cytube.playlist.temp"
	// PlaylistLocked carries a PlaylistLocked event.
	PlaylistLocked = "cytube.playlist.locked"
	// PlaylistFailed carries a PlaylistFailed event: CyTube refused to
	// queue a link (queueFail), whoever asked.
	PlaylistFailed = "cytube.playlist.failed"
	// PlaylistWarning carries a PlaylistFailed event with a warning
	// (queueWarn): the item was queued anyway.
	PlaylistWarning = "cytube.playlist.warning"

	// MediaCurrent carries a MediaCurrent event: the uid now playing.
	MediaCurrent = "cytube.media.current"
	// MediaPosition carries a MediaPosition event, throttled (see
	// Config.PositionEvery in package cytube): on pause and resume, and
	// at most once per interval while playing.
	MediaPosition = "cytube.media.position"
	// MediaVoteskip carries a Voteskip event (votes and votes needed).
	MediaVoteskip = "cytube.media.voteskip"

	// UserRank carries a UserRank event.
	UserRank = "cytube.user.rank"
	// UserAFK carries a UserAFK event.
	UserAFK = "cytube.user.afk"
	// UserMuted carries a UserMuted event (shadow mutes only to moderators).
	UserMuted = "cytube.user.muted"
	// UserLeader carries a UserLeader event ("" when nobody leads).
	UserLeader = "cytube.user.leader"
	// UserCount carries a UserCount event (anonymous viewers included).
	UserCount = "cytube.user.count"

	// PollOpened, PollUpdated and PollClosed carry PollEvent payloads.
	PollOpened  = "cytube.poll.opened"
	PollUpdated = "cytube.poll.updated"
	PollClosed  = "cytube.poll.closed"

	// ChannelOptions carries a ChannelOptions event.
	ChannelOptions = "cytube.channel.options"
	// ChannelPermissions carries a ChannelPermissions event.
	ChannelPermissions = "cytube.channel.permissions"
	// ChannelMOTD carries a ChannelMOTD event.
	ChannelMOTD = "cytube.channel.motd"
	// ChannelEmotes carries a ChannelEmotes event.
	ChannelEmotes = "cytube.channel.emotes"

	// ModerationNotice carries a ServerMessage: a [server] line (only
	// moderators see most: "alice kicked bob").
	ModerationNotice = "cytube.moderation.notice"
	// ModerationError carries a ServerMessage from errorMsg.
	ModerationError = "cytube.moderation.error"
	// ModerationNoFlood carries a ServerMessage from noflood ("You have
	// been muted on this channel.").
	ModerationNoFlood = "cytube.moderation.noflood"
	// ModerationSpam carries a ServerMessage from spamFiltered.
	ModerationSpam = "cytube.moderation.spam"
	// ModerationKicked carries a ServerMessage: the bot itself was kicked
	// (or banned: the reason says so).
	ModerationKicked = "cytube.moderation.kicked"
)

// MediaItem is one playlist item. Duration is in seconds (0 for live);
// URL is rebuilt from Type and ID.
type MediaItem struct {
	UID      int64   `json:"uid"`
	Title    string  `json:"title"`
	Type     string  `json:"type"`
	ID       string  `json:"id"`
	URL      string  `json:"url"`
	Duration float64 `json:"duration"`
	Temp     bool    `json:"temp"`
	QueuedBy string  `json:"queued_by"`
}

// PlaylistSnapshotEvent is the payload of cytube.playlist.snapshot and the
// data of cytube.state.playlist. CyTube numbers items from uid 0.
type PlaylistSnapshotEvent struct {
	Channel string      `json:"channel"`
	Items   []MediaItem `json:"items"`
	// Current is the uid playing; nil (null) when nothing is.
	Current *int64 `json:"current"`
	Locked  bool   `json:"locked"`
}

// PlaylistQueuedEvent is the payload of cytube.playlist.queued. Position
// is the item's 0-based index in the playlist; After is the uid before it,
// nil (null) when it was put first.
type PlaylistQueuedEvent struct {
	Channel  string    `json:"channel"`
	Item     MediaItem `json:"item"`
	Position int       `json:"position"`
	After    *int64    `json:"after"`
	QueuedBy string    `json:"queued_by"`
}

// PlaylistDeletedEvent is the payload of cytube.playlist.deleted; Item is
// what was deleted when the connector knew it.
type PlaylistDeletedEvent struct {
	Channel string     `json:"channel"`
	UID     int64      `json:"uid"`
	Item    *MediaItem `json:"item,omitempty"`
}

// PlaylistMovedEvent is the payload of cytube.playlist.moved: UID now
// follows After, as CyTube says it: a uid, "prepend" (moved first) or
// "append" (moved last).
type PlaylistMovedEvent struct {
	Channel string          `json:"channel"`
	UID     int64           `json:"uid"`
	After   json.RawMessage `json:"after"`
}

// PlaylistTempEvent is the payload of cytube.playlist.temp.
type PlaylistTempEvent struct {
	Channel string `json:"channel"`
	UID     int64  `json:"uid"`
	Temp    bool   `json:"temp"`
}

// PlaylistLockedEvent is the payload of cytube.playlist.locked.
type PlaylistLockedEvent struct {
	Channel string `json:"channel"`
	Locked  bool   `json:"locked"`
}

// PlaylistFailedEvent is the payload of cytube.playlist.failed and
// cytube.playlist.warning: CyTube's own text, the link and the id sent.
type PlaylistFailedEvent struct {
	Channel string `json:"channel"`
	Message string `json:"message"`
	Link    string `json:"link"`
	ID      string `json:"id,omitempty"`
}

// MediaCurrentEvent is the payload of cytube.media.current.
type MediaCurrentEvent struct {
	Channel string `json:"channel"`
	UID     int64  `json:"uid"`
}

// MediaPositionEvent is the payload of cytube.media.position and the data
// of cytube.state.media (with Item; Item is nil when nothing plays). Time
// is in seconds (negative during CyTube's lead-in).
type MediaPositionEvent struct {
	Channel string     `json:"channel"`
	UID     int64      `json:"uid"`
	Time    float64    `json:"time"`
	Paused  bool       `json:"paused"`
	Item    *MediaItem `json:"item,omitempty"`
}

// VoteskipEvent is the payload of cytube.media.voteskip.
type VoteskipEvent struct {
	Channel string `json:"channel"`
	Count   int    `json:"count"`
	Need    int    `json:"need"`
}

// UserRankEvent is the payload of cytube.user.rank.
type UserRankEvent struct {
	Channel string  `json:"channel"`
	User    string  `json:"user"`
	Rank    float64 `json:"rank"`
}

// UserAFKEvent is the payload of cytube.user.afk.
type UserAFKEvent struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	AFK     bool   `json:"afk"`
}

// UserMutedEvent is the payload of cytube.user.muted.
type UserMutedEvent struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	Muted   bool   `json:"muted"`
	Shadow  bool   `json:"shadow"`
}

// UserLeaderEvent is the payload of cytube.user.leader.
type UserLeaderEvent struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
}

// UserCountEvent is the payload of cytube.user.count.
type UserCountEvent struct {
	Channel string `json:"channel"`
	Count   int    `json:"count"`
}

// Poll is an open poll. Counts are nil for a hidden poll the bot may not
// see.
type Poll struct {
	Title     string   `json:"title"`
	Options   []string `json:"options"`
	Counts    []int    `json:"counts"`
	Hidden    bool     `json:"hidden"`
	Initiator string   `json:"initiator"`
	Timestamp int64    `json:"timestamp"`
}

// PollEvent is the payload of cytube.poll.opened, .updated and .closed
// (Poll is the last state known when it closed).
type PollEvent struct {
	Channel string `json:"channel"`
	Poll    *Poll  `json:"poll"`
}

// ChannelOptionsEvent is the payload of cytube.channel.options: CyTube's
// channelOpts object as it sent it.
type ChannelOptionsEvent struct {
	Channel string          `json:"channel"`
	Options json.RawMessage `json:"options"`
}

// ChannelPermissionsEvent is the payload of cytube.channel.permissions:
// the minimum rank for each of CyTube's permissions.
type ChannelPermissionsEvent struct {
	Channel     string             `json:"channel"`
	Permissions map[string]float64 `json:"permissions"`
}

// ChannelMOTDEvent is the payload of cytube.channel.motd (HTML).
type ChannelMOTDEvent struct {
	Channel string `json:"channel"`
	MOTD    string `json:"motd"`
}

// Emote is one channel emote: chat text containing Name shows Image.
type Emote struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// ChannelEmotesEvent is the payload of cytube.channel.emotes.
type ChannelEmotesEvent struct {
	Channel string  `json:"channel"`
	Emotes  []Emote `json:"emotes"`
}

// ServerMessage is the payload of the cytube.moderation.* events. Message
// is plain text; Code, Action and Reason are CyTube's when it gave them.
type ServerMessage struct {
	Channel string `json:"channel"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Action  string `json:"action,omitempty"`
}

// User is one logged-in user of the channel, as cytube.state.users lists
// them. Muted and Shadow are what the bot's rank lets it see.
type User struct {
	Name   string  `json:"name"`
	Rank   float64 `json:"rank"`
	AFK    bool    `json:"afk"`
	Muted  bool    `json:"muted"`
	Shadow bool    `json:"shadow"`
	Leader bool    `json:"leader"`
}
