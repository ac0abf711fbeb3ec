// Package stats is Rosey's stats plugin: it counts, per user and channel,
// the lines said, the time present, the commands used and the playlist
// items queued, with when the user was first and last seen, and ranks the
// channel's chatters and queuers.
//
//	alice: !stats
//	RoseyBot: 📊 alice: 1,204 lines, 87 commands, 12 items queued, here 3d 4h in all; first seen 21d 2h ago, here now.
//	alice: !stats bob
//	RoseyBot: 📊 bob: 310 lines, 4 commands, 0 items queued, here 19h 12m in all; first seen 9d 3h ago, last seen 2h 5m ago.
//	alice: !top chatters
//	RoseyBot: 🏆 Top chatters: 1. alice (1,204), 2. bob (310), 3. carol (97)
//	alice: !top queuers
//	RoseyBot: 🏆 Top queuers: 1. alice (12), 2. carol (3)
//	alice: !stats zed
//	RoseyBot: 🤷 I have no stats for zed here.
//
// # What counts
//
//   - A line: a chat message in the channel (cytube.chat); a PM is not one.
//   - A command: a chat line or PM that starts with the command prefix
//     followed by a word, as the router reads it ("!" alone, "! x" and
//     "!!!" are not), whether or not a plugin knows the word. Set prefix
//     (and channels.<name>.prefix) to the router's when it is not "!".
//   - Time present: from a join (cytube.user.join) to the leave. When the
//     connector (re)joins the channel, the users CyTube lists
//     (cytube.state.users) are present from then on; while it is away
//     (any other cytube.connection state) nobody is. After a reload of
//     the plugin alone, the users already there count from their next
//     join or the bot's next arrival.
//   - An item queued: cytube.playlist.queued, credited to whoever CyTube
//     says queued it (queued_by). An item the bot queued (a plugin's
//     command such as !add queues through the connector, so CyTube credits
//     the bot) counts for nobody.
//   - First and last seen: the first and the latest of these, and, for a
//     user present, every flush.
//
// Names compare case-insensitively; each channel has its own counts
// (document "<channel>/<user>" in the plugin's stats collection).
//
// # Batching
//
// Counting costs no database write per chat line: the plugin adds up in
// memory what each user did and writes it in batches, one $inc update per
// user who did something (and once more the first time a user is seen in
// a channel, for first_seen), every flush_interval (default 5s) or as soon
// as max_pending users (default 1000) wait to be written. Each flush also
// counts the time of the users present up to then, so they are written at
// every flush. A clean stop takes in every event already delivered, then
// writes everything in memory, the time of the users still present
// included. A crash (kill -9, power loss) loses at most the last flush
// interval of counts; a failed write is tried again at the next flush.
//
// !stats answers from what is stored plus what is still in memory, after
// every line said before it (itself included) has been counted. !top first
// writes what is pending, then asks the database for the channel's top
// users. Commands are served up to 8 at once (plugin.Host.Concurrency), so
// one waiting for its line holds up nobody else's.
//
// Run one copy of the plugin: it watches every chat event, so two copies
// would count each line twice.
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.users and database.stats.>, and to subscribe to
// cytube.> (it reads chat, PMs, joins, leaves, cytube.playlist.queued and
// cytube.connection, in order, from one subscription) and
// platform.plugin.playlist.queued (an item the playlist plugin queued for
// someone counts as theirs: CyTube names the bot).
//
// Config section (optional; the defaults shown):
//
//	{"collection": "stats", "flush_interval": "5s", "max_pending": 1000, "prefix": "!", "top": 5,
//	 "channels": {"den": {"prefix": "?"}}}
package stats
