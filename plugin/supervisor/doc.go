// Package supervisor runs the plugins of a bot. A plugin author does not
// need it (package plugin and roseytest are theirs); a program that
// assembles a bot by hand, rather than with rosey.New, does.
//
//   - Manager runs in-process plugins (each with plugin.Run, as a NATS micro
//     service), starts, stops, reloads, enables and disables them, remembers
//     an admin's choice in the database, and answers the control subjects
//     platform.plugins.list, .reload, .enable and .disable.
//   - Process runs a plugin binary (one whose main calls plugin.Serve) as a
//     child process under a Manager, restarting it with backoff; BusEnv
//     hands it the bot's NATS address and credentials.
//   - Directory knows every plugin on the bus, in any process and any
//     language, from lifecycle announcements (platform.plugin.<name>.<state>)
//     and micro service discovery ($SRV.INFO, $SRV.STATS), and which plugin
//     answers which command word: the router asks it.
//   - Control is the client of a Manager's control subjects, from any
//     process (the admin and help plugins use it).
package supervisor
