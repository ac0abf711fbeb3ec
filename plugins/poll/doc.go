// Package poll is Rosey's poll plugin: it opens CyTube's own poll (the box
// every viewer votes in) through the connector, announces the results
// when the poll closes, and records every poll of the channel in the
// database.
//
//	mod:      !poll Movie tonight? | Alien | Heat | Up --time 2m
//	RoseyBot: 📊 Poll open: “Movie tonight?” — Alien / Heat / Up. Closes in 2m. Vote in the poll box!
//	alice:    !poll results
//	RoseyBot: 📊 “Movie tonight?” so far: Alien 3, Heat 1, Up 0 (4 votes): Alien wins
//	bob:      !poll Snacks? | chips | fruit
//	RoseyBot: ❌ A poll is already open: “Movie tonight?”. Close it first with !poll close.
//	(two minutes later, CyTube closes it)
//	RoseyBot: 📊 Poll closed: “Movie tonight?” — Alien 4, Heat 2, Up 0 (6 votes): Alien wins
//	alice:    !poll close
//	RoseyBot: ⛔ Only leaders (rank 1.5) and up may close polls.
//
// # Commands
//
// !poll <title> | <option> | <option>… [--time 2m] [--hidden] opens a
// poll (rank open_rank and up, 1.5 by default). --time closes it after
// that long (CyTube's own timer, so it closes on time even if the bot is
// down); --hidden hides the counts from users below CyTube's
// viewhiddenpoll until it closes. A poll is refused while another is open
// (CyTube would replace it silently). !poll close closes the open poll;
// !poll results tells the open poll's counts (not a hidden poll's), or the
// last closed poll's results. The bot's own refusals come from the
// connector: "⛔ I may not open polls here: …" when the bot's rank is below
// the channel's pollctl permission.
//
// # Data
//
// Every poll seen in the channel (opened with !poll, or by anyone in
// CyTube's page) is a document of the collection "polls" in the plugin's
// database namespace: channel, title, options, counts, hidden, opened_by,
// opened_at, closes_at, closed_by, closed_at (times in ms since the
// epoch), status (open or closed). A poll left open across a restart is
// completed when it closes; one that closed while the bot (or the plugin
// alone: restarted, reloaded) was away is recorded closed, with the counts
// last seen and closed_by "(closed while the bot was away)", when the bot
// is back in the channel or the plugin starts (CyTube sends the open poll,
// if any, before the bot is in). A close or opening event of that poll
// (CyTube's timestamp) that comes after completes or reopens that record
// rather than record the poll twice.
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.poll, cytube.do.poll.open, cytube.do.poll.close,
// cytube.send.chat and database.poll.>, and to subscribe to cytube.poll.*.
//
// # Config
//
// The plugin's section of the bot config (every field optional):
//
//	"poll": {"open_rank": 1.5, "max_options": 10, "default_time": "0s", "max_time": "1h", "announce": true,
//	         "channels": {"lounge": {"open_rank": 2, "default_time": "2m", "announce": false}}}
//
// channels overrides any of the five in one channel.
package poll
