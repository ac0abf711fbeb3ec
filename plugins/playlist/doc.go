// Package playlist is Rosey's playlist plugin: it queues media for users
// through the connector, within per-user limits and a blacklist set per
// channel and by rank, records every item that plays (who queued it, when,
// how long it played, whether it was skipped), keeps likes and dislikes,
// and queues well-liked items from the history on demand (!random) or by
// itself when nobody queues (auto-fill).
//
//	alice:    !add https://youtu.be/dQw4w9WgXcQ
//	RoseyBot: ✅ Queued “Never Gonna Give You Up” (3:32) at #2.
//	bob:      !add https://youtu.be/xxxxxxxxxxx
//	RoseyBot: ⛔ “Three Hour Mix” lasts 3:00:00; the longest item you may add here is 20:00.
//	bob:      !add https://youtu.be/dQw4w9WgXcQ
//	RoseyBot: ❌ CyTube says: This item is already on the playlist
//	bob:      !np
//	RoseyBot: ▶️ Now playing: “Alpha”, queued by carol — 2:00 left of 3:20.
//	bob:      !queue
//	RoseyBot: 📜 Up next (2, 7:32): 1. “Bravo” (4:00, bob) · 2. “Never Gonna Give You Up” (3:32, alice)
//	bob:      !remove 2
//	RoseyBot: ⛔ #2 “Never Gonna Give You Up” was queued by alice: only moderators (rank 2) and up may remove others' items here.
//	mod:      !skip
//	RoseyBot: ⏭️ Skipped “Alpha”.
//	mod:      !blacklist https://youtu.be/xxxxxxxxxxx
//	RoseyBot: 🚫 “Three Hour Mix” is on this channel's blacklist now.
//	alice:    !like
//	RoseyBot: 👍 alice likes “Bravo” (3 👍 0 👎).
//	alice:    !history
//	RoseyBot: 🕘 Last played: “Alpha” (carol, 1m ago, skipped after 1:20) · “Echo” (bob, 6m ago)
//	alice:    !lastplayed echo
//	RoseyBot: 🕘 “Echo” last played 11m ago (queued by bob) · 4 plays, 2 👍 0 👎.
//	alice:    !liked 3
//	RoseyBot: ❤️ Most liked here: 1. “Bravo” (3 👍 0 👎) · 2. “Echo” (2 👍 0 👎)
//	alice:    !random 2
//	RoseyBot: 🎲 Queued from the history: “Echo” (5:00 at #2), “Delta” (4:10 at #3)
//	(nobody queues for five minutes, the playlist runs low)
//	RoseyBot: 🎲 Nobody has queued for 5m, so I added “Bravo” from the history.
//
// # Commands
//
// !add <link> [next] queues a link (every form CyTube's page accepts, and
// CyTube's "yt:id" shorthand; package cytube/medialink reads it) and tells
// its title, length and place in !queue's numbering, or CyTube's refusal
// in its own words ("❌ CyTube says: …"). YouTube playlists are refused
// (CyTube would add every video, past the limits). "next" puts it after what plays
// (rank next, 1.5 by default, as CyTube's playlistnext). The bot queues as
// itself, so the plugin remembers who asked for each item: that is who
// !np, !queue and !history name, whose limits it counts against, and who
// may !remove it.
//
// !np tells what plays, who queued it and the time left. !queue [n] lists
// the next n items (queue_lines, 5, without n; at most 10), numbered from
// 1 in the order they will play (CyTube's playlist loops: the items before
// the one playing come last). !remove n removes item n of that list (your
// own; anyone's from rank remove_any, 2); !remove alone removes your last
// item in the queue, !remove mine all of yours. What plays is not in the
// queue: !skip (rank skip, 2) plays the next item and records the one
// playing as skipped. !shuffle (rank 2) shuffles the playlist; !bump n
// (rank 2) makes item n play next.
//
// !history [n] lists the last items that finished playing; !lastplayed
// <title words> tells when the last media with all the words in its title
// played, how often, and its likes. !like and !dislike vote on what plays,
// once per user and media (a second vote changes the first); the media's
// counts are recounted from the votes at each vote, so a count the
// database failed to save is put right by the next vote. !liked [n]
// lists the channel's most liked media: the issue asked for !top, but the
// stats plugin owns !top chatters|queuers, so the most-liked list is
// !liked.
//
// !random [n] (rank random, 1) queues n items (1 by default, at most
// random_max) from the channel's history: media played before, not
// disliked on balance, not played within random_recent (2h), not on the
// playlist, not blacklisted and within the user's limits, drawn at random
// with better-liked media likelier. They count as the user's items.
//
// # Limits and the blacklist
//
// limits are set per least rank: a user gets the entry of the highest
// rank at or below theirs, whole. By default guests and users may have 5
// items, of at most 20 minutes each and an hour together; moderators (2)
// have no limits. max_items is checked before queueing. An item's title
// and length are known once CyTube has queued it, so an item over
// max_length or max_total, or whose title matches the blacklist, is taken
// off again at once (and never counts as played); the plugin remembers its
// title and length, so the next !add of it is refused before it reaches
// CyTube. The blacklist's ids (links or type:id) are refused before
// queueing. Users of the blacklist's exempt_rank (3) and up pass it.
//
// Besides the config's blacklist, moderators (rank blacklist, 2) keep one
// per channel in chat: !blacklist alone blacklists what plays and skips
// it, !blacklist <link> blacklists a link, !unblacklist <link> takes one
// off (not one the config lists). Items already on the playlist stay there
// (!remove them); !random and auto-fill never pick blacklisted media.
//
// # Auto-fill
//
// With autofill.min set, the plugin checks every autofill.every (30s): when
// nobody has queued in the channel for autofill.idle (5m) — an item queued
// in CyTube's page, or through !add or !random — and fewer than min items
// follow the one playing, it queues from the history as !random picks,
// temporary items by default (autofill.temp), recorded as queued by
// "(auto-fill)", and says so in the channel. As soon as someone queues it
// waits again for the idle time, and the person's item is moved before the
// auto-fill items still waiting (when the bot may move items), so filler
// never keeps people waiting.
//
// # History
//
// A play starts when CyTube changes media and ends at the next change, or
// when the item is deleted while it plays (or is gone from the list CyTube
// sends again when the playlist is cleared or shuffled). Its time played is
// taken from the plugin's clock, corrected by CyTube's position reports (so
// a pause is not time played), and is at most the item's length; it was
// skipped when !skip ended it or it stopped more than a tenth of its length
// (at least 5 s) before its end. When the bot joins again and the same item
// (same uid) plays, the play goes on (unless it had played to its end or
// was skipped: CyTube plays the only item of a playlist again, a new play);
// a play in progress when the bot stopped is completed when the bot is
// back.
//
// # Data
//
// In the plugin's database namespace: "plays", one document per item that
// played (channel, key "type:id", title, type, mid, url, duration,
// queued_by, uid, started_at, ended_at (ms since the epoch), played
// (seconds), skipped, skipped_by, status playing|played); "media", one per
// media and channel (id "channel/type:id"; title, plays, skips, likes,
// dislikes, score = likes − dislikes, last_played, last_by); "votes", one
// per user's vote ("channel/type:id/user", vote 1 or −1); "queued", who
// asked the bot for each media on the playlist ("channel/type:id", user);
// "blacklist", the media blacklisted with !blacklist ("channel/type:id";
// title, by, at).
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.playlist, cytube.state.media, cytube.state.bot,
// cytube.do.playlist.queue, cytube.do.playlist.delete,
// cytube.do.playlist.move, cytube.do.playlist.skip,
// cytube.do.playlist.shuffle, cytube.send.chat, database.playlist.> and
// platform.plugin.playlist.queued, and to subscribe to cytube.media.> and
// cytube.playlist.>.
//
// # Events
//
// platform.plugin.playlist.queued ({"channel", "user", "key"}) says who
// asked for an item the plugin queued (CyTube names the bot): the stats
// plugin counts it as that user's.
//
// # Config
//
// The plugin's section of the bot config (every field optional; the
// defaults shown):
//
//	"playlist": {"ranks": {"add": 0, "next": 1.5, "remove_any": 2, "skip": 2, "shuffle": 2, "bump": 2, "random": 1, "like": 0,
//	                       "blacklist": 2},
//	             "limits": {"0": {"max_items": 5, "max_total": "1h", "max_length": "20m"}, "2": {}},
//	             "blacklist": {"ids": ["yt:dQw4w9WgXcQ"], "titles": ["\\bearrape\\b"], "exempt_rank": 3},
//	             "random_recent": "2h", "random_max": 5, "queue_lines": 5,
//	             "autofill": {"min": 0, "idle": "5m", "every": "30s", "temp": true},
//	             "channels": {"lounge": {"ranks": {"skip": 1.5}, "limits": {"0": {"max_items": 2}},
//	                                     "blacklist": {"titles": ["(?i)nightcore"]}, "autofill": {"min": 3}}}}
//
// A channel's ranks override the plugin's one by one, its limits and
// autofill replace the plugin's whole, its blacklist ids and titles are
// added to the plugin's. Title patterns are Go regular expressions matched
// without regard to case.
package playlist
