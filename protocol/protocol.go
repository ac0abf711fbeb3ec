package protocol

import (
	"encoding/json"
	"strings"
)

// Subjects of the wire contract, without any configured prefix.
const (
	// Chat carries ChatMessage events: a line said in the channel.
	Chat = "cytube.chat"
	// PM carries ChatMessage events: a private message to the bot.
	PM = "cytube.pm"
	// UserJoin carries UserJoin events.
	UserJoin = "cytube.user.join"
	// UserLeave carries UserLeave events.
	UserLeave = "cytube.user.leave"
	// MediaChange carries MediaChange events.
	MediaChange = "cytube.media.change"
	// Connection carries Connection events (connector state).
	Connection = "cytube.connection"
	// SendChat asks the connector to say SendChat in the channel.
	SendChat = "cytube.send.chat"
	// SendPM asks the connector to send a SendPM private message.
	SendPM = "cytube.send.pm"
	// Startup and Shutdown carry Platform events.
	Startup  = "platform.startup"
	Shutdown = "platform.shutdown"
	// RouterAdmins asks the router for its configured admins (request
	// {}, reply RouterAdminsReply), so plugins protect and exempt them
	// too.
	RouterAdmins = "platform.router.admins"
)

// PluginCommand returns the request subject of a plugin's commands:
// plugin.<name>.command.
func PluginCommand(plugin string) string { return "plugin." + plugin + ".command" }

// PluginState returns the lifecycle subject platform.plugin.<name>.<state>.
func PluginState(plugin, state string) string { return "platform.plugin." + plugin + "." + state }

// Ranks as CyTube defines them. Ranks may be fractional (leader is 1.5).
const (
	RankAnonymous = -1
	RankGuest     = 0
	RankUser      = 1
	RankLeader    = 1.5
	RankModerator = 2
	RankAdmin     = 3
	RankOwner     = 4
	RankFounder   = 5
	RankSiteAdmin = 255
)

// RankName names the CyTube rank r ("guest", "moderator", …); a rank
// between two names gets the lower one.
func RankName(r float64) string {
	switch {
	case r >= RankSiteAdmin:
		return "site admin"
	case r >= RankFounder:
		return "founder"
	case r >= RankOwner:
		return "owner"
	case r >= RankAdmin:
		return "admin"
	case r >= RankModerator:
		return "moderator"
	case r >= RankLeader:
		return "leader"
	case r >= RankUser:
		return "registered user"
	case r >= RankGuest:
		return "guest"
	}
	return "anonymous"
}

// ChatMessage is the payload of cytube.chat and cytube.pm. Message is plain
// text: tags stripped, entities decoded. Time is milliseconds since the
// epoch, as CyTube sends it.
type ChatMessage struct {
	User    string  `json:"user"`
	Message string  `json:"message"`
	Channel string  `json:"channel"`
	Rank    float64 `json:"rank"`
	Time    int64   `json:"time"`
}

// UserJoinEvent is the payload of cytube.user.join.
type UserJoinEvent struct {
	User    string  `json:"user"`
	Channel string  `json:"channel"`
	Rank    float64 `json:"rank"`
}

// UserLeaveEvent is the payload of cytube.user.leave.
type UserLeaveEvent struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
}

// MediaChangeEvent is the payload of cytube.media.change. URL is rebuilt
// from Type and ID; Duration is in seconds. Time is where it starts, in
// seconds: negative during CyTube's lead-in, past 0 when CyTube resumes
// it (a shuffle plays the item playing again, under a new uid, where it
// was).
type MediaChangeEvent struct {
	Title    string  `json:"title"`
	URL      string  `json:"url"`
	Duration float64 `json:"duration"`
	Type     string  `json:"type"`
	ID       string  `json:"id"`
	Channel  string  `json:"channel"`
	Time     float64 `json:"time"`
}

// Connection states.
const (
	StateConnecting   = "connecting"
	StateConnected    = "connected"
	StateDisconnected = "disconnected"
	StateReconnecting = "reconnecting"
	StateKicked       = "kicked"
	StateFailed       = "failed"
)

// ReasonStopped is the Reason of a connector's last ConnectionEvent, with
// StateDisconnected, as it stops: nobody serves the channel until its next
// connection event.
const ReasonStopped = "stopped"

// ConnectionEvent is the payload of cytube.connection. User is the name the
// bot is logged in as, when known.
type ConnectionEvent struct {
	Channel string `json:"channel"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
	User    string `json:"user,omitempty"`
}

// SendChatRequest is the payload of cytube.send.chat.
type SendChatRequest struct {
	Message string `json:"message"`
	Channel string `json:"channel,omitempty"`
}

// SendPMRequest is the payload of cytube.send.pm.
type SendPMRequest struct {
	To      string `json:"to"`
	Message string `json:"message"`
	Channel string `json:"channel,omitempty"`
}

// UnmarshalJSON accepts "result" as a stand-in for "message": a plugin
// that answers by publishing {"result": "..."} on cytube.send.chat, and
// never replies to the command, is understood too.
func (r *SendChatRequest) UnmarshalJSON(b []byte) error {
	var raw struct {
		Message *string `json:"message"`
		Result  *string `json:"result"`
		Channel string  `json:"channel"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = SendChatRequest{Channel: raw.Channel}
	switch {
	case raw.Message != nil:
		r.Message = *raw.Message
	case raw.Result != nil:
		r.Message = *raw.Result
	}
	return nil
}

// PlatformEvent is the payload of platform.startup and platform.shutdown.
type PlatformEvent struct {
	Version    string   `json:"version"`
	Components []string `json:"components"`
}

// RouterAdminsReply is the router's answer on platform.router.admins: the
// user names it raises to at least rank 3.
type RouterAdminsReply struct {
	OK     bool     `json:"ok"`
	Admins []string `json:"admins"`
}

// SameUser compares CyTube user names, which are case-insensitive.
func SameUser(a, b string) bool { return strings.EqualFold(a, b) }
