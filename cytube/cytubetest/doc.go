// Package cytubetest provides a fake CyTube server for tests, in the spirit
// of net/http/httptest.
//
// NewServer listens on a loopback port and speaks what a real CyTube 3.86
// speaks to a bot: the /socketconfig/<channel>.json discovery endpoint, a
// real websocket with Engine.IO v4 framing (open packet, server pings,
// "40"/"41"/"44"), guest and registered logins with CyTube's error texts and
// guest cooldown, channel passwords, the join burst with the replayed chat
// history before userlist, chat escaped and filtered the way CyTube does it,
// truncation to 320 characters, chat flood control with cooldown events, the
// per-IP connection limit, PMs, user joins and leaves, rank changes, kicks,
// bans and media changes. Each channel has CyTube's channel model too: a
// playlist with uids (queue with CyTube's permission checks, queue rate
// limit and duplicate rule; delete, move, jump, skip, temp items deleted
// after playing, shuffle, clear), the permissions table (registered and
// unregistered defaults, overridable) sent as setPermissions, with a kick for
// an admin event sent without the rank, polls (newPoll answered through its
// ack), voteskip with CyTube's threshold, the moderation chat commands
// (/kick, /ban, /ipban, /mute, /smute, /unmute, /clear) with [server]
// notices (run, like chat, only for a user with the chat permission), channel ranks, the leader, the MOTD, emotes and channelOpts
// (antiflood parameters included). Media cannot be looked up offline:
// AddMedia makes an id known; live links and custom embeds always queue.
//
// Test hooks let a test speak as other users (Say, PM, Join, Leave, Queue,
// Vote, Voteskip, SetAFK), act as a moderator or admin (Kick, Ban, SetRank,
// ChangeMedia, EndMedia, MediaUpdate, OpenPoll, SetPlaylistLocked,
// UpdateChannel), break things (DropAll, DropAfter, Hold,
// Restart, SetSilent, FailDiscovery, SendRaw), and look at what clients did
// (Messages, Frames, Users, Playlist, Poll, Banned, Leader, MOTD, Stats,
// and the Wait* helpers).
//
// Dial connects a Client: another user on a real websocket of its own, for
// tests (and benchmarks) that want a user's whole path, their own socket
// included, rather than the Say shortcut.
//
// The zero Config has CyTube's real timings (pings every 25 s, one guest
// login per IP per minute, 5 connections then one per 10 s); Fast returns
// the same rules with timings short enough for tests.
package cytubetest
