// Package moderation is Rosey's moderation plugin: !kick, !ban, !mute,
// !unmute and !warn, each checked against the ranks of the moderator, the
// target and the bot before CyTube sees it, and every action recorded
// with who, what and why; !modlog sends the latest to a moderator by PM.
//
//	mod:      !kick troll spam links
//	RoseyBot: 👢 mod kicked troll: spam links.
//	mod:      !warn noisy please stop shouting
//	RoseyBot: ⚠️ noisy, this is warning 2 from mod: please stop shouting
//	mod:      !mute mod2
//	RoseyBot: ⛔ You may not mute mod2: their rank (moderator) is not below yours.
//	owner:    !kick lead
//	RoseyBot: ⛔ I cannot kick lead: their rank (moderator) is not below mine (moderator).
//	mod:      !unmute troll
//	RoseyBot: ❌ CyTube says: troll is not muted.
//	alice:    !ban troll
//	RoseyBot: ⛔ !ban needs rank moderator or higher.
//	mod:      !modlog troll
//	RoseyBot: 📬 mod, I sent you the moderation log by PM.
//	(by PM)   📜 Moderation log of lounge about troll: 2 action(s), the latest 2:
//	(by PM)   2026-03-01 12:04 UTC — mod: kick troll (spam links)
//
// # Rules
//
// Every command is for moderators (rank 2) and up; the config may raise
// each (ranks). An action is refused, with nothing sent to CyTube, when
// its target is the moderator, the bot, a configured admin (admins), or a
// user present whose rank is not below the moderator's, or (except !warn,
// which CyTube does not see) not below the bot's. !kick, !mute, !unmute
// and !warn need the target in the channel; !ban may name someone absent
// (CyTube bans the name, and refuses a name of higher rank itself). Then
// the connector checks the bot's rank against the channel's permissions
// ("⛔ I may not kick here: …") and CyTube answers in its own words
// ("❌ CyTube says: ghost is already banned"). !warn says the warning in
// chat, with the count of the user's warnings in the channel, even when it
// came by PM.
//
// # Automod
//
// The automod judges every chat line against the rules of its channel,
// each off until the config turns it on: flood (more than lines in a
// window from one user), repeated lines (the same line, case and spacing
// aside, count times in a window), caps (a long line mostly in capitals),
// banned words (whole words, any case) or patterns (Go regular
// expressions), links (from users below a rank, or who first joined the
// channel less than new_for ago), emote spam (more than max of the
// channel's emotes, as the connector knows them, in one line). The first
// rule a line breaks, in that order, is its offense.
//
// Each offense takes its user one step up an escalation ladder (by
// default warn, mute 10m, kick, ban; past the end the last step
// repeats); each forgive period (default 1h) without an offense takes
// them a step down. Offenses in the grace (default 10s) after an action
// (lines already on their way) do not climb. A step the bot may not do
// (the channel's permissions, a user of the bot's rank, no CyTube channel
// as in the console) is a warning instead. Users of exempt_rank (default
// moderator) and up and the admins (the plugin's, the channel's and the
// router's) are never judged.
//
//	alice:    buy my stuff
//	alice:    BUY  my stuff
//	alice:    buy my STUFF
//	RoseyBot: ⚠️ alice, automod warning (repeated line: 3 times in 1m).
//	troll:    you are a badword
//	RoseyBot: ⚠️ troll, automod warning (banned words).
//	troll:    (20 seconds later) badword badword
//	RoseyBot: 🔇 automod muted troll for 10m (banned words).
//	          (10 minutes later the automod lifts the mute)
//	guest:    look at https://example.com/x
//	RoseyBot: ⚠️ guest, automod warning (link from a rank below registered user).
//	emoter:   Kappa Kappa PogChamp :) Kappa Kappa
//	RoseyBot: ⚠️ emoter, automod warning (emote spam: 6 emotes, at most 5).
//	flooder:  (a sixth line within 5 seconds, after a mute and a kick)
//	RoseyBot: 🔨 automod banned flooder (flood: more than 5 lines in 5s).
//	mod:      !modlog troll
//	(by PM)   📜 Moderation log of lounge about troll: 3 action(s), the latest 3:
//	(by PM)   2026-03-01 12:14 UTC — automod: unmute troll (the mute of 10m is over)
//	(by PM)   2026-03-01 12:04 UTC — automod: mute troll (banned words)
//	(by PM)   2026-03-01 12:04 UTC — automod: warn troll (banned words)
//
// Lines are judged in the order they come, in memory, without waiting on
// CyTube or the database; a worker per channel then acts on the offenses,
// one at a time and in that order, so a flood is judged as fast as it
// comes and the plugin's commands (in their own goroutine) are answered
// meanwhile. At most 1024 actions wait in a channel; past that new ones
// are dropped, with a warning in the log. Time is the Host's clock, read
// when a line is judged; !modlog lists actions in the order they were
// done.
//
// # Data
//
// One document per action done, in the collection "actions" of the
// plugin's database namespace: channel, action (kick, ban, mute, unmute,
// warn), target, target_key (lower-cased), by (the moderator, or
// "automod"), by_rank, reason, at (ms since the epoch), and for the
// automod's actions rule (flood, repeat, caps, words, links, emotes) and,
// for a mute, until. An action CyTube refused is not recorded. One whose
// answer never came in time (the connector's action timeout), or whose
// connection dropped before the answer, may have happened: it is recorded
// with status "unconfirmed", the moderator is told so and !modlog marks
// it; the end of such an automod mute is kept all the same (CyTube may
// have muted the user). The
// automod keeps each user's place on the ladder in "automod_ladder", the
// mutes to lift in "automod_unmutes" (lifted after a restart too, or when
// the user is back; a moderator's !mute or !unmute of the user drops the
// automod's lift, so it never ends the moderator's mute) and, with links.new_for, when each user first joined
// each channel in "automod_members" (counted from when the rule is on: a
// user first seen joining then is new, one already present is not).
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.bot, cytube.state.users, cytube.state.emotes,
// cytube.do.user.kick, cytube.do.user.ban, cytube.do.user.mute,
// cytube.do.user.unmute, cytube.send.chat, cytube.send.pm,
// platform.router.admins and database.moderation.>, and to subscribe to
// cytube.chat, cytube.user.join, cytube.channel.emotes and
// cytube.connection.
//
// # Config
//
// The plugin's section of the bot config (every field optional):
//
//	"moderation": {"admins": ["me"], "ranks": {"ban": 3}, "modlog_lines": 5, "max_reason": 100, "ban_ip": false,
//	  "automod": {
//	    "flood": {"on": true, "lines": 5, "window": "5s"},
//	    "repeat": {"on": true, "count": 3, "window": "1m"},
//	    "caps": {"on": true, "min_length": 16, "ratio": 0.7},
//	    "words": {"on": true, "words": ["badword"], "patterns": ["(?i)free\\s+v-?bucks"]},
//	    "links": {"on": true, "min_rank": 1, "new_for": "10m"},
//	    "emotes": {"on": true, "max": 5},
//	    "ladder": ["warn", "mute 10m", "kick", "ban"], "forgive": "1h", "grace": "10s", "exempt_rank": 2},
//	  "channels": {"lounge": {"admins": ["lounge-owner"], "ranks": {"kick": 3},
//	                          "automod": {"flood": {"lines": 8}, "caps": {"on": false}}}}}
//
// The router's admins (router.admins) are protected and exempt like the
// plugin's: the plugin asks the router for them (platform.router.admins)
// when it first needs them and every few minutes after. A channel's
// admins are protected there besides the plugin's; its ranks override the
// plugin's there, and its automod changes only the fields it writes. The
// router refuses a command below the lowest rank the config gives it in
// any channel, and !help shows that rank. A bad field stops the plugin at
// start with an error naming it ("automod.words.patterns[0]: error
// parsing regexp: …").
package moderation
