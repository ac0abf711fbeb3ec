// Package router turns chat into plugin commands. It listens on
// cytube.chat and cytube.pm, and for a line that starts with the command
// prefix (default "!") it finds the plugin that answers the command word
// (names and aliases, any case), checks the user's rank and cooldown, sends
// plugin.<name>.command as a NATS request and sends the answer back where
// the command came from: chat to chat, PM to PM. Answers leave in the order
// the commands arrived, even when plugins answer out of order.
//
// The router learns which plugin answers which command from a
// plugin.Directory, so plugins in other processes are routed like
// in-process ones. Plugins that never announce themselves (the original
// Rosey's standalone example) can be routed with Config.Routes.
package router
