package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// Sentinel errors, one per protocol error code; an *Error matches its own
// with errors.Is.
var (
	ErrBadRequest   = errors.New("client: bad request")
	ErrPermission   = errors.New("client: the bot's rank is too low")
	ErrUnknownUser  = errors.New("client: no such user in the channel")
	ErrNotFound     = errors.New("client: no such playlist item or poll")
	ErrRateLimited  = errors.New("client: CyTube's rate limit")
	ErrRefused      = errors.New("client: CyTube refused")
	ErrTimeout      = errors.New("client: CyTube did not answer")
	ErrNotConnected = errors.New("client: the bot is not in the channel")
	// ErrUnknownOutcome: the action was sent but the connection dropped
	// before CyTube answered; it may or may not have been done.
	ErrUnknownOutcome = errors.New("client: the connection dropped before CyTube answered")
	ErrNotSupported   = errors.New("client: the connector cannot do this")
)

var sentinels = map[string]error{
	protocol.CodeBadRequest: ErrBadRequest, protocol.CodePermission: ErrPermission,
	protocol.CodeUnknownUser: ErrUnknownUser, protocol.CodeNotFound: ErrNotFound,
	protocol.CodeRateLimited: ErrRateLimited, protocol.CodeRefused: ErrRefused,
	protocol.CodeTimeout: ErrTimeout, protocol.CodeNotConnected: ErrNotConnected,
	protocol.CodeNotSupported: ErrNotSupported, protocol.CodeUnknownOutcome: ErrUnknownOutcome,
}

// Error is a refused or failed request: Code is one of the protocol.Code*
// values, Message the connector's explanation or CyTube's own text.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel of e's code (nil for an unknown code).
func (e *Error) Unwrap() error { return sentinels[e.Code] }

// Client sends state and action requests for one channel.
type Client struct {
	bus     *eventbus.Bus
	channel string
}

// New returns a client for channel; "" means the connector's only channel.
func New(bus *eventbus.Bus, channel string) *Client {
	return &Client{bus: bus, channel: channel}
}

// Channel returns the channel the client asks about.
func (c *Client) Channel() string { return c.channel }

// call sends req on subject and decodes the reply's data into out (when
// not nil). Without a deadline in ctx the bus's request timeout applies.
func (c *Client) call(ctx context.Context, subject string, req protocol.ChannelRequest, out any) error {
	req.Channel = c.channel
	ev, err := c.bus.Request(ctx, subject, req)
	if err != nil {
		return fmt.Errorf("client: %s: %w", subject, err)
	}
	var r protocol.Reply
	if err := ev.Decode(&r); err != nil {
		return fmt.Errorf("client: %s: bad reply: %w", subject, err)
	}
	if !r.OK {
		if r.Error == "" {
			r.Error = "the connector answered neither ok nor an error"
		}
		return &Error{Code: r.Code, Message: r.Error}
	}
	if out != nil && len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return fmt.Errorf("client: %s: bad data: %w", subject, err)
		}
	}
	return nil
}

// QueueOptions are the choices of Queue.
type QueueOptions struct {
	// Next puts the item after the one playing instead of at the end.
	Next bool
	// Temp makes the item temporary: deleted once it has played.
	Temp bool
	// Title names a custom embed or raw file; Duration (live media) is
	// how long it lasts.
	Title    string
	Duration time.Duration
}

func (o QueueOptions) request() protocol.ChannelRequest {
	r := protocol.ChannelRequest{Pos: "end", Temp: &o.Temp, Title: o.Title, Duration: o.Duration.Seconds()}
	if o.Next {
		r.Pos = "next"
	}
	return r
}

// Queue adds a media link (any form CyTube's page accepts, or "type:id")
// and returns the item CyTube queued.
func (c *Client) Queue(ctx context.Context, url string, o QueueOptions) (protocol.MediaItem, error) {
	req := o.request()
	req.URL = url
	var it protocol.MediaItem
	err := c.call(ctx, protocol.DoQueue, req, &it)
	return it, err
}

// QueueMedia adds media by CyTube's type and id ("yt", "dQw4w9WgXcQ").
func (c *Client) QueueMedia(ctx context.Context, typ, id string, o QueueOptions) (protocol.MediaItem, error) {
	req := o.request()
	req.Type, req.ID = typ, id
	var it protocol.MediaItem
	err := c.call(ctx, protocol.DoQueue, req, &it)
	return it, err
}

// Delete removes the playlist item uid (CyTube numbers items from 0).
func (c *Client) Delete(ctx context.Context, uid int64) error {
	return c.call(ctx, protocol.DoDelete, protocol.ChannelRequest{UID: &uid}, nil)
}

// Move puts item uid right after item after.
func (c *Client) Move(ctx context.Context, uid, after int64) error {
	return c.call(ctx, protocol.DoMove, protocol.ChannelRequest{UID: &uid, After: json.RawMessage(fmt.Sprint(after))}, nil)
}

// MoveFirst puts item uid first.
func (c *Client) MoveFirst(ctx context.Context, uid int64) error {
	return c.call(ctx, protocol.DoMove, protocol.ChannelRequest{UID: &uid, After: json.RawMessage(`"prepend"`)}, nil)
}

// MoveLast puts item uid last.
func (c *Client) MoveLast(ctx context.Context, uid int64) error {
	return c.call(ctx, protocol.DoMove, protocol.ChannelRequest{UID: &uid, After: json.RawMessage(`"append"`)}, nil)
}

// Jump plays item uid now.
func (c *Client) Jump(ctx context.Context, uid int64) error {
	return c.call(ctx, protocol.DoJump, protocol.ChannelRequest{UID: &uid}, nil)
}

// Skip plays the next item.
func (c *Client) Skip(ctx context.Context) error {
	return c.call(ctx, protocol.DoSkip, protocol.ChannelRequest{}, nil)
}

// Shuffle shuffles the playlist.
func (c *Client) Shuffle(ctx context.Context) error {
	return c.call(ctx, protocol.DoShuffle, protocol.ChannelRequest{}, nil)
}

// ClearPlaylist empties the playlist.
func (c *Client) ClearPlaylist(ctx context.Context) error {
	return c.call(ctx, protocol.DoClear, protocol.ChannelRequest{}, nil)
}

// SetTemp sets item uid's temporary flag.
func (c *Client) SetTemp(ctx context.Context, uid int64, temp bool) error {
	return c.call(ctx, protocol.DoSetTemp, protocol.ChannelRequest{UID: &uid, Temp: &temp}, nil)
}

// Voteskip votes to skip the item playing.
func (c *Client) Voteskip(ctx context.Context) error {
	return c.call(ctx, protocol.DoVoteskip, protocol.ChannelRequest{}, nil)
}

// PollOptions describe a poll to open.
type PollOptions struct {
	Title   string
	Options []string
	// Hidden hides the counts from users below CyTube's viewhiddenpoll.
	Hidden bool
	// Timeout closes the poll after that long (whole seconds, 1s to 24h);
	// zero leaves it open.
	Timeout time.Duration
}

// OpenPoll opens a poll (closing the one open).
func (c *Client) OpenPoll(ctx context.Context, p PollOptions) error {
	return c.call(ctx, protocol.DoPollOpen, protocol.ChannelRequest{Title: p.Title, Options: p.Options, Hidden: p.Hidden, Timeout: p.Timeout.Seconds()}, nil)
}

// Vote votes for option (0-based) in the open poll.
func (c *Client) Vote(ctx context.Context, option int) error {
	return c.call(ctx, protocol.DoPollVote, protocol.ChannelRequest{Option: &option}, nil)
}

// ClosePoll closes the open poll.
func (c *Client) ClosePoll(ctx context.Context) error {
	return c.call(ctx, protocol.DoPollEnd, protocol.ChannelRequest{}, nil)
}

// Kick kicks user from the channel.
func (c *Client) Kick(ctx context.Context, user, reason string) error {
	return c.call(ctx, protocol.DoKick, protocol.ChannelRequest{User: user, Reason: reason}, nil)
}

// Ban bans user by name, and with ip by the addresses they used too.
func (c *Client) Ban(ctx context.Context, user, reason string, ip bool) error {
	return c.call(ctx, protocol.DoBan, protocol.ChannelRequest{User: user, Reason: reason, IP: ip}, nil)
}

// Mute mutes user.
func (c *Client) Mute(ctx context.Context, user string) error {
	return c.call(ctx, protocol.DoMute, protocol.ChannelRequest{User: user}, nil)
}

// ShadowMute mutes user so that only they (and moderators) see their lines.
func (c *Client) ShadowMute(ctx context.Context, user string) error {
	return c.call(ctx, protocol.DoSMute, protocol.ChannelRequest{User: user}, nil)
}

// Unmute lifts a mute or shadow mute.
func (c *Client) Unmute(ctx context.Context, user string) error {
	return c.call(ctx, protocol.DoUnmute, protocol.ChannelRequest{User: user}, nil)
}

// SetRank sets user's channel rank (the bot needs rank 3).
func (c *Client) SetRank(ctx context.Context, user string, rank float64) error {
	return c.call(ctx, protocol.DoSetRank, protocol.ChannelRequest{User: user, Rank: &rank}, nil)
}

// SetLeader makes user the leader; "" takes the lead back.
func (c *Client) SetLeader(ctx context.Context, user string) error {
	return c.call(ctx, protocol.DoLeader, protocol.ChannelRequest{User: user}, nil)
}

// ClearChat clears the channel's chat.
func (c *Client) ClearChat(ctx context.Context) error {
	return c.call(ctx, protocol.DoClearChat, protocol.ChannelRequest{}, nil)
}

// SetMOTD sets the message of the day (HTML).
func (c *Client) SetMOTD(ctx context.Context, motd string) error {
	return c.call(ctx, protocol.DoSetMOTD, protocol.ChannelRequest{MOTD: motd}, nil)
}

// Connector returns the figures of the channel's connector: its state,
// the messages it took in and sent, its send queue, pace and refusals.
func (c *Client) Connector(ctx context.Context) (protocol.ConnectorStats, error) {
	var s protocol.ConnectorStats
	return s, c.call(ctx, protocol.StateConnector, protocol.ChannelRequest{}, &s)
}

// Users lists who is in the channel, the bot included.
func (c *Client) Users(ctx context.Context) ([]protocol.User, error) {
	var us []protocol.User
	return us, c.call(ctx, protocol.StateUsers, protocol.ChannelRequest{}, &us)
}

// Playlist returns the playlist and the uid playing (Current is nil when
// nothing plays).
func (c *Client) Playlist(ctx context.Context) (protocol.PlaylistSnapshotEvent, error) {
	var p protocol.PlaylistSnapshotEvent
	return p, c.call(ctx, protocol.StatePlaylist, protocol.ChannelRequest{}, &p)
}

// Media returns the item playing and its position (Item is nil when
// nothing plays).
func (c *Client) Media(ctx context.Context) (protocol.MediaPositionEvent, error) {
	var m protocol.MediaPositionEvent
	return m, c.call(ctx, protocol.StateMedia, protocol.ChannelRequest{}, &m)
}

// Poll returns the open poll, or nil.
func (c *Client) Poll(ctx context.Context) (*protocol.Poll, error) {
	var p *protocol.Poll
	return p, c.call(ctx, protocol.StatePoll, protocol.ChannelRequest{}, &p)
}

// Options returns CyTube's channel options object.
func (c *Client) Options(ctx context.Context) (json.RawMessage, error) {
	var o json.RawMessage
	return o, c.call(ctx, protocol.StateOptions, protocol.ChannelRequest{}, &o)
}

// Permissions returns the channel's permissions table (minimum rank per
// CyTube permission).
func (c *Client) Permissions(ctx context.Context) (map[string]float64, error) {
	var p map[string]float64
	return p, c.call(ctx, protocol.StatePermissions, protocol.ChannelRequest{}, &p)
}

// MOTD returns the message of the day (HTML).
func (c *Client) MOTD(ctx context.Context) (string, error) {
	var m string
	return m, c.call(ctx, protocol.StateMOTD, protocol.ChannelRequest{}, &m)
}

// Emotes returns the channel's emotes.
func (c *Client) Emotes(ctx context.Context) ([]protocol.Emote, error) {
	var e []protocol.Emote
	return e, c.call(ctx, protocol.StateEmotes, protocol.ChannelRequest{}, &e)
}

// Bot returns the bot's name, rank, and the actions its rank allows.
func (c *Client) Bot(ctx context.Context) (protocol.BotState, error) {
	var b protocol.BotState
	return b, c.call(ctx, protocol.StateBot, protocol.ChannelRequest{}, &b)
}
