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
// !admin status asks each channel's connector for its figures
// (cytube.state.connector): messages in are the chat lines and PMs it took
// from CyTube, messages out those it sent, since the connector started,
// summed over the channels that answered within 2 s (an answer naming
// another channel than the one asked is not counted). Channels are known
// from their cytube.connection events and the channel asking; one whose
// connector does not answer is shown from its last connection change,
// marked "not answering". A channel whose connector said it stopped (its
// last event is disconnected, "stopped") is not asked, so the status does
// not wait 2 s for it; a connector gone without a word (its process
// killed) is still waited for.
// The plugin follows nothing else, so the channel's chat costs it nothing.
// A list too long for one chat line goes to the caller by PM.
package admin
