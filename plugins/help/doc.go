// Package help is Rosey's help plugin.
//
// !help lists the commands the caller's rank allows, grouped by plugin, for
// every running plugin on the bus, in-process or external (the list comes
// from the plugin manager over NATS, supervisor.Control.List). A list that fits
// one chat line (Config.MaxChat, 320 characters by default) is said in the
// channel; a longer one is sent to the caller by PM, in lines that each fit,
// with a short note in the channel.
//
// !help <command> (with or without the prefix; aliases work too) gives the
// command's usage, description, aliases, minimum rank and cooldown.
// !help <plugin> lists one plugin's commands.
//
// Config section (all optional):
//
//	{"prefix": "!", "max_chat": 320}
package help
