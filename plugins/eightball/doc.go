// Package eightball is Rosey's 8ball plugin: !8ball <question> answers with
// one of the twenty classic Magic 8-Ball answers, "🎱 Outlook good.".
//
// A question is required (a bare !8ball gets the usage line). Each user
// waits Config.Cooldown between questions; the router enforces it from the
// command's Info. The random source is Config.Rand, injectable for
// deterministic tests. The plugin has no config-file section: the cooldown
// is part of the plugin's Info, which the bot reads before a config section
// could be applied, so it is set through New.
package eightball
