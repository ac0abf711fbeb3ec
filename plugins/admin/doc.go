// Package admin is Rosey's admin plugin: !admin, for channel admins (rank 3
// or higher, or the router's configured admins).
//
//	!admin plugins           every plugin, in-process or external: state, version, requests, errors
//	!admin reload <plugin>   stop it, re-read its config section, start it fresh
//	!admin enable <plugin>   start it; remembered across restarts
//	!admin disable <plugin>  stop it; remembered across restarts
//	!admin status            uptime, CyTube connection state, messages in and out
//
// It drives the plugin manager over NATS (supervisor.Control), so it works the
// same when the manager runs in another process. It refuses to reload or
// disable itself: the manager waits for a plugin's commands in flight
// before stopping it, and the !admin command asking would be one of them.
// External plugins are listed but are reloaded where they run. Where a
// plugin runs shows after its version: in-process, process ×N (a process
// the bot supervises), installed ×N (one installed with rosey plugin
// install, also supervised by the bot), external ×N (copies found on the
// bus).
//
// Messages in are cytube.chat and cytube.pm events; messages out are
// cytube.send.chat and cytube.send.pm requests, counted since the plugin
// started. A list too long for one chat line goes to the caller by PM.
package admin
