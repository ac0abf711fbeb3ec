// Package router turns chat into plugin commands. It listens on
// cytube.chat and cytube.pm, and for a line that starts with the command
// prefix (default "!") it finds the plugin that answers the command word
// (names and aliases, any case), checks the user's rank and cooldown, sends
// plugin.<name>.command as a NATS request and sends the answer back where
// the command came from: chat to chat, PM to PM. The answers to one user
// leave in the order that user spoke; nothing else waits, so a slow plugin
// delays only the users who asked it. Each command has a deadline counted
// from when its line arrived, and the number of commands waiting is
// bounded (Config.MaxConcurrent, Config.MaxPerUser): past it new commands
// are refused at once with a short notice.
//
// The router learns which plugin answers which command from a
// supervisor.Directory, so plugins in other processes are routed like
// in-process ones. Plugins that never announce themselves (they only
// subscribe to plugin.<name>.command and speak on cytube.send.chat) can be
// routed with Config.Routes.
package router
