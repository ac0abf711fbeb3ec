package protocol

import (
	"encoding/json"
	"time"
)

// Channel state requests (NATS request/reply, answered by the connector of
// the request's channel with a Reply whose data is given below).
const (
	StateUsers       = "cytube.state.users"       // data: []User
	StatePlaylist    = "cytube.state.playlist"    // data: PlaylistSnapshotEvent
	StateMedia       = "cytube.state.media"       // data: MediaPositionEvent with Item
	StatePoll        = "cytube.state.poll"        // data: Poll or null
	StateOptions     = "cytube.state.options"     // data: CyTube's channelOpts object
	StatePermissions = "cytube.state.permissions" // data: map of permission to rank
	StateMOTD        = "cytube.state.motd"        // data: string (HTML)
	StateEmotes      = "cytube.state.emotes"      // data: []Emote
	StateBot         = "cytube.state.bot"         // data: BotState
	StateConnector   = "cytube.state.connector"   // data: ConnectorStats
)

// ConnectorService is the NATS micro service name every CyTube connector
// serves, one instance per channel: its "connector" endpoint answers
// StateConnector, and carries the same ConnectorStats as its data in the
// $SRV.STATS answer, so a monitor gathers every connector, in any process,
// with one $SRV.STATS.cytube-connector request. The instance's metadata
// names its channel (MetaChannel) and the bus's subject prefix
// (MetaPrefix).
const ConnectorService = "cytube-connector"

// Metadata keys of Rosey's micro services.
const (
	MetaChannel = "rosey.channel"
	MetaPrefix  = "rosey.prefix"
)

// ConnectorStats is one connector's figures: the data of
// cytube.state.connector and of its micro service's statistics. Counters
// start at zero when the connector's process starts.
type ConnectorStats struct {
	Channel string `json:"channel"`
	// State is one of the State* connection values; Reason explains it.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Users counts the channel's logged-in users.
	Users int `json:"users"`
	// ConnectedSince is when the current session joined; absent when
	// not joined.
	ConnectedSince time.Time `json:"connected_since,omitzero"`
	// MessagesIn counts chat lines and PMs published on the bus;
	// MessagesOut those sent to CyTube.
	MessagesIn  uint64 `json:"messages_in"`
	MessagesOut uint64 `json:"messages_out"`
	// Queued is the messages waiting to be sent; Dropped those lost
	// because the queue was full.
	Queued  int    `json:"queued"`
	Dropped uint64 `json:"dropped"`
	// Paced counts lines the pace held back before sending, PacedSeconds
	// the time they were held in all.
	Paced        uint64  `json:"paced"`
	PacedSeconds float64 `json:"paced_seconds"`
	// Cooldowns counts CyTube's cooldown events (a line dropped by its
	// flood control); Refused the lines CyTube refused otherwise (noflood,
	// spam filter, a failed PM).
	Cooldowns uint64 `json:"cooldowns"`
	Refused   uint64 `json:"refused"`
	// Reconnects counts reconnect attempts after the first connection.
	Reconnects uint64 `json:"reconnects"`
	// BadRequests counts unreadable cytube.send.* and request payloads;
	// MalformedFrames frames from CyTube that could not be parsed.
	BadRequests     uint64 `json:"bad_requests"`
	MalformedFrames uint64 `json:"malformed_frames"`
	// Pace is the chat flood rule the bot paces itself by right now.
	Pace ConnectorPace `json:"pace"`
}

// ConnectorPace is the chat flood rule a connector follows: Burst lines at
// once, then Sustained per second. AntiFlood tells whether it is the
// channel's antiflood setting (else CyTube's fixed per-user limit); Slowed
// is true for a while after a cooldown.
type ConnectorPace struct {
	Burst     int     `json:"burst"`
	Sustained float64 `json:"sustained"`
	AntiFlood bool    `json:"antiflood"`
	Slowed    bool    `json:"slowed"`
}

// Channel actions (NATS request/reply with a ChannelRequest, answered with
// a Reply carrying CyTube's real outcome).
const (
	DoQueue     = "cytube.do.playlist.queue"    // url (or type+id), pos, temp, title, duration; data: MediaItem queued
	DoDelete    = "cytube.do.playlist.delete"   // uid
	DoMove      = "cytube.do.playlist.move"     // uid, after (a uid, "prepend" or "append")
	DoJump      = "cytube.do.playlist.jump"     // uid
	DoSkip      = "cytube.do.playlist.skip"     // (playNext)
	DoShuffle   = "cytube.do.playlist.shuffle"  //
	DoClear     = "cytube.do.playlist.clear"    //
	DoSetTemp   = "cytube.do.playlist.temp"     // uid, temp
	DoVoteskip  = "cytube.do.playlist.voteskip" //
	DoPollOpen  = "cytube.do.poll.open"         // title, options, hidden, timeout
	DoPollVote  = "cytube.do.poll.vote"         // option
	DoPollEnd   = "cytube.do.poll.close"        //
	DoKick      = "cytube.do.user.kick"         // user, reason
	DoBan       = "cytube.do.user.ban"          // user, reason, ip
	DoMute      = "cytube.do.user.mute"         // user
	DoSMute     = "cytube.do.user.smute"        // user
	DoUnmute    = "cytube.do.user.unmute"       // user
	DoSetRank   = "cytube.do.user.rank"         // user, rank
	DoLeader    = "cytube.do.user.leader"       // user ("" takes the lead back)
	DoClearChat = "cytube.do.chat.clear"        //
	DoSetMOTD   = "cytube.do.channel.motd"      // motd
)

// Error codes of a Reply.
const (
	CodeBadRequest   = "bad_request"   // the request is malformed or names nothing valid
	CodePermission   = "permission"    // the bot's rank is below the channel's permission
	CodeUnknownUser  = "unknown_user"  // no such user in the channel
	CodeNotFound     = "not_found"     // no such playlist item (uid) or poll
	CodeRateLimited  = "rate_limited"  // CyTube's own limit for the action would refuse it
	CodeRefused      = "refused"       // CyTube refused; Error is its own text
	CodeTimeout      = "timeout"       // CyTube did not answer in time
	CodeNotConnected = "not_connected" // the connector is not in the channel; nothing was sent
	// CodeUnknownOutcome: the action was sent, and the connection dropped
	// before CyTube answered it: it may or may not have been done (look at
	// the state once the bot is back), unlike CodeNotConnected.
	CodeUnknownOutcome = "unknown_outcome"
	CodeNotSupported   = "not_supported" // the connector has no such thing (the console has no playlist)
)

// ChannelRequest is the body of every cytube.state.* and cytube.do.*
// request; each action reads the fields it documents. Channel may be left
// out when the bot is in one channel.
type ChannelRequest struct {
	Channel string `json:"channel,omitempty"`

	// Queue: a link (parsed by the connector), or CyTube's Type and ID.
	URL      string  `json:"url,omitempty"`
	Type     string  `json:"type,omitempty"`
	ID       string  `json:"id,omitempty"`
	Pos      string  `json:"pos,omitempty"`      // "end" (default) or "next"
	Temp     *bool   `json:"temp,omitempty"`     // queue (default false), temp
	Title    string  `json:"title,omitempty"`    // custom embeds and raw files only
	Duration float64 `json:"duration,omitempty"` // live media only, seconds

	// UID names a playlist item; CyTube numbers them from 0, so it is
	// required where used.
	UID   *int64          `json:"uid,omitempty"`
	After json.RawMessage `json:"after,omitempty"`

	// Polls.
	Options []string `json:"options,omitempty"`
	Hidden  bool     `json:"hidden,omitempty"`
	Timeout float64  `json:"timeout,omitempty"` // seconds, 0 for none
	Option  *int     `json:"option,omitempty"`

	// Users.
	User   string   `json:"user,omitempty"`
	Reason string   `json:"reason,omitempty"`
	IP     bool     `json:"ip,omitempty"`
	Rank   *float64 `json:"rank,omitempty"`

	MOTD string `json:"motd,omitempty"`
}

// Reply answers a cytube.state.* or cytube.do.* request: {"ok": true,
// "data": …} or {"error": "…", "code": "…"}. Error is CyTube's own text
// when CyTube refused.
type Reply struct {
	OK    bool            `json:"ok"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error string          `json:"error,omitempty"`
	Code  string          `json:"code,omitempty"`
}

// BotState is the data of cytube.state.bot: who the bot is in the channel
// and which actions its rank allows (by subject).
type BotState struct {
	Channel string          `json:"channel"`
	Name    string          `json:"name"`
	Rank    float64         `json:"rank"`
	Allowed map[string]bool `json:"allowed"`
	// Connected is false while the bot is not in the channel: Rank and
	// Allowed are then as last seen, and actions answer CodeNotConnected.
	Connected bool `json:"connected"`
}
