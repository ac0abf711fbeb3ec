// Package cytube connects a Rosey bot to a CyTube channel.
//
// A Connector speaks Engine.IO v4 / Socket.IO v4 over a websocket (no
// polling), discovers the socket URL from /socketconfig/<channel>.json, logs
// in (as a guest when Config.Password is empty) and joins the channel, and
// translates between CyTube and the bus:
//
//   - chatMsg → cytube.chat and pm → cytube.pm, as plain text (tags stripped,
//     entities decoded) with the sender's rank from the user list. The chat
//     history CyTube replays on every join (everything before the first
//     userlist) and the bot's own messages are skipped.
//   - addUser/userLeave → cytube.user.join/leave (after a reconnect, the
//     differences between the old and new user lists); changeMedia →
//     cytube.media.change with the URL rebuilt from type and id.
//   - cytube.send.chat and cytube.send.pm → chatMsg and pm, split at 320
//     characters on word boundaries and at newlines, never starting with "/"
//     (nor a later part with the command prefix) by accident, the parts of
//     one message sent together. Lines are paced exactly to the rule CyTube
//     applies to the bot: the channel's chat_antiflood_params (read from
//     channelOpts, followed as they change) while antiflood is on and the
//     bot's rank is below 2, else CyTube's fixed 20 lines then 10 per second;
//     past the burst each line is spaced from the server's echo of the one
//     before. A cooldown event from the server slows the pace and resends
//     exactly the lines it dropped, in order (see Stats.Pace and Paced).
//   - state changes → cytube.connection (connecting, connected, disconnected,
//     reconnecting, kicked, failed).
//   - the rest of the channel → cytube.playlist.*, cytube.media.current,
//     .position and .voteskip, cytube.user.rank/.afk/.muted/.leader/.count,
//     cytube.poll.*, cytube.channel.*, cytube.moderation.*; the connector
//     keeps the channel's state and answers cytube.state.* requests (with
//     not_connected while it is not in the channel: what it saw last may
//     no longer be true; cytube.state.bot answers, marked not connected), and
//     carries out cytube.do.* actions (queue, skip, polls, kick, ban…) with
//     CyTube's real outcome, after checking the bot's rank against the
//     channel's permissions table and pacing them with CyTube's own limits.
//     Package cytube/client wraps those requests for Go code.
//   - its figures (Stats: lines in and out, send queue, pace delays,
//     cooldowns, refusals, reconnects) → the NATS micro service
//     cytube-connector, one instance per channel, in its $SRV.STATS data and
//     on cytube.state.connector: a monitor in any process gathers them.
//
// The connector reconnects with capped, jittered exponential backoff that
// also respects the server's per-IP connection limit, waits out the guest
// login cooldown, and stops for good on errors that retrying cannot fix
// (wrong password, ban, unknown channel, a duplicate login): Done is closed
// and Err returns an error wrapping one of the sentinel errors.
//
// It subscribes to the bus once, in Start, so no number of reconnects makes
// a command answered twice. What is published while disconnected waits in a
// bounded queue and is sent after reconnecting; overflow is logged. Lines
// written to a connection that died before CyTube answered them are sent
// again first, unless the chat history CyTube replays on the next join shows
// that it took them (see lost.go for the exact rules and their bounds).
//
// The protocol facts behind all this are in docs/ and in the package
// cytubetest, a fake CyTube server for tests.
package cytube
