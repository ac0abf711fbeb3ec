// Package countdown is the countdown plugin: named countdowns to a moment
// (one-off or recurring) with alerts in the channel before and at zero.
//
// Commands:
//
//	!countdown <name> <when>      create a countdown
//	!countdown <name>             how long until it
//	!countdown list               every countdown of the channel
//	!countdown delete <name>      remove one (whoever created it, or a moderator)
//
// <when> is read in UTC: "2026-12-24 18:00", "2026-12-24", "in 2h30m",
// "in 3d", "today 21:00", "tomorrow 20:00", "friday 19:00" (the next one),
// or recurring: "every friday 19:00", "every day 08:00".
//
// Alerts are said in the channel some time before zero (Config.Alerts,
// 10m and 1m by default) and at zero; a recurring countdown then moves to its
// next occurrence, a one-off countdown is removed. Countdowns and the alerts
// already given are stored through the database service, so they resume
// after a restart without repeating an alert.
//
// The plugin reads the time from Config.Now and checks its countdowns every
// Config.CheckInterval, so tests can drive a fake clock quickly.
package countdown
