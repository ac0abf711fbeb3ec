// Package seen is Rosey's seen plugin: !seen <user> tells when the user was
// last here and what they last said.
//
//	👀 Bob is here now. Last said 3h 12m ago: "hello there"
//	👀 erin was last seen 2d 4h ago, leaving. Last said 2d 4h ago: "brb"
//	👀 dave is in den now.
//	🤷 I have not seen zed.
//
// The plugin follows cytube.chat, cytube.user.join and cytube.user.leave
// through a single subscription (so they are taken in the order they were
// published) and keeps one document per user, under the lower-cased name,
// through the database service, so it survives restarts. Names compare
// case-insensitively. Each document keeps the channel of the latest
// sighting: a bot in several channels says where a user is ("is in den
// now") or was last seen. When a channel's connector reports a
// (re)connection, everyone last seen there is marked absent, since CyTube
// then announces again everyone present.
//
// # Batching
//
// A chat line costs no database write: the latest sighting of each user is
// kept in memory and written in batches, one upsert per user who did
// something, every flush_interval (default 5s) or as soon as max_pending
// users (default 1000) wait to be written. A clean stop takes in every
// event already delivered, then writes everything still in memory. A crash
// (kill -9, power loss) loses at most the last flush interval of
// sightings; a failed write is tried again at the next flush.
//
// A !seen said in the channel is answered after every line said before it,
// itself included, has been taken in, from what is stored with what is
// still in memory laid over it. For a user who said something since the
// last flush, or in the sightings it wrote, memory holds all the document
// does, and the answer needs no database read. Commands are served up to 8
// at once (plugin.Host.Concurrency), so one waiting for its line holds up
// nobody else's.
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on database.seen.> and to subscribe to cytube.> (it reads chat,
// joins, leaves and cytube.connection, in order, from one subscription).
//
// Config section (optional):
//
//	{"collection": "seen", "flush_interval": "5s", "max_pending": 1000}
package seen
