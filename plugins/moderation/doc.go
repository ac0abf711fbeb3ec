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
// # Data
//
// One document per action done, in the collection "actions" of the
// plugin's database namespace: channel, action (kick, ban, mute, unmute,
// warn), target, target_key (lower-cased), by, by_rank, reason, at (ms
// since the epoch). An action CyTube refused is not recorded.
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.bot, cytube.state.users, cytube.do.user.kick,
// cytube.do.user.ban, cytube.do.user.mute, cytube.do.user.unmute,
// cytube.send.chat, cytube.send.pm and database.moderation.>.
//
// # Config
//
// The plugin's section of the bot config (every field optional):
//
//	"moderation": {"admins": ["me"], "ranks": {"ban": 3}, "modlog_lines": 5, "max_reason": 100, "ban_ip": false,
//	               "channels": {"lounge": {"admins": ["lounge-owner"], "ranks": {"kick": 3}}}}
//
// admins should list the router's admins too: the plugin does not see the
// router's config. A channel's admins are protected there besides the
// plugin's; its ranks override the plugin's there.
//
// # Not yet
//
// Automod (flood, repeated lines, caps, banned words and links, emote
// spam, an escalation ladder forgiven over time, exempt ranks) is the
// next step: it will follow cytube.chat, judge each line against rules
// set per channel, and act through the same checks and record (by
// "automod"), so !modlog shows its actions beside the moderators'.
package moderation
