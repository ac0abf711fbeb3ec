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
// bans and media changes.
//
// Test hooks let a test speak as other users (Say, PM, Join, Leave), act as
// a moderator (Kick, Ban, SetRank, ChangeMedia), break things (DropAll,
// Restart, SetSilent, FailDiscovery, SendRaw), and look at what clients did
// (Messages, Frames, Users, Stats, and the Wait* helpers).
//
// Dial connects a Client: another user on a real websocket of its own, for
// tests (and benchmarks) that want a user's whole path, their own socket
// included, rather than the Say shortcut.
//
// The zero Config has CyTube's real timings (pings every 25 s, one guest
// login per IP per minute, 5 connections then one per 10 s); Fast returns
// the same rules with timings short enough for tests.
package cytubetest
