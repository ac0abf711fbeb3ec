// Package greeter is Rosey's greeter plugin (named "welcome" in the bot):
// it greets first-time visitors of a channel and users coming back after
// an absence, with texts set per channel, and says a user's own greeting,
// set with !greeting, when they come back.
//
//	(alice arrives for the first time)
//	RoseyBot: 👋 Welcome to lounge, alice!
//	alice:    !greeting The queen has arrived 👑
//	RoseyBot: 💬 alice, from now on I greet you back with: The queen has arrived 👑
//	(alice's connection drops and she is back a minute later: nothing said)
//	(alice comes back the next day)
//	RoseyBot: 👋 alice: The queen has arrived 👑
//	(bob, last here a week ago, comes back)
//	RoseyBot: 👋 Welcome back, bob!
//	gus:      !greeting hi all
//	RoseyBot: ⛔ !greeting needs rank registered user or higher.
//
// # When it greets
//
// It follows cytube.user.join, cytube.user.leave and cytube.connection
// through one subscription, so they are handled in the order the
// connector published them. A join is greeted when:
//
//   - the user is not the bot, nor in the ignore list, nor anonymous;
//   - the bot is in the channel and was so for the settle time (default
//     5s): the connector reports the users it finds on a rejoin (those
//     who came while it was away) before it reports itself connected,
//     and those are never greeted; the settle time covers a connector
//     that reports everyone it finds as joins. The users already present
//     when the bot first joins are not reported at all;
//   - it is the user's first visit (welcome), or the user has been away
//     (since their last leave) for at least absence (default 12h:
//     their own greeting if they set one, else welcome_back);
//   - the user was not greeted in the last user_interval (default 1h),
//     so a connection that flaps is greeted once;
//   - the channel has greeted fewer than rate users in the last
//     rate_window (default 3 a minute): in a mass join the first are
//     greeted and the rest are recorded in silence, never greeted late.
//
// # Data
//
// One document per user and channel, id "<channel>/<user>" lower-cased,
// in the collection "visitors" of the plugin's database namespace
// ("welcome"): channel, name, first_seen, last_seen (the last join or
// leave, ms since the epoch), here, visits, last_greeted, greeting.
//
// # NATS permissions
//
// Run as a process of its own under per-plugin NATS users, it needs to
// publish on cytube.state.bot, cytube.send.chat and database.welcome.>,
// and to subscribe to cytube.> (it reads cytube.user.join,
// cytube.user.leave and cytube.connection, in order, from one
// subscription).
//
// # Config
//
// The plugin's section of the bot config, every field optional; {user},
// {channel} and {absence} are replaced in the texts, and a text may not
// start with / or ! (CyTube or another bot would read a command):
//
//	"welcome": {
//	  "welcome": "👋 Welcome to {channel}, {user}!", "welcome_back": "👋 Welcome back, {user}!",
//	  "channels": {"lounge": {"welcome_back": "🌷 {user} is back after {absence}!"}, "quiet-room": {"quiet": true}},
//	  "absence": "12h", "rate": 3, "rate_window": "1m", "user_interval": "1h", "settle": "5s",
//	  "max_greeting": 150, "ignore": ["OtherBot"]
//	}
//
// A channel's "off" turns its welcome and welcome back off (personal
// greetings stay); "quiet" turns every greeting off there.
package greeter
