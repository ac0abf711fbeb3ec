// Package plugin is how behaviour gets into a Rosey bot: everything a user
// sees, even !help, is a plugin.
//
// A Plugin has three methods: Info describes it and its commands (usage,
// aliases, minimum rank, cooldown), Start registers command handlers and
// subscriptions through the Host it is given, and Stop undoes Start. The
// Host is the plugin's handle on the bot: the event bus, the database
// client (requests go over NATS to the database service), a logger tagged
// with the plugin's name, the plugin's own config section, Go for
// goroutines that end with the plugin, and a Clock with a scheduler
// (Every, At) whose jobs end with the plugin too. Plugins take the time and
// their timers from Host.Clock, so a test can move it (roseytest.Clock).
//
// The same plugin runs three ways, unchanged:
//
//   - in the bot's process (rosey.Config.Plugins), which starts it with Run;
//   - as a process of its own, with Serve in its main function, started by
//     hand or by the bot (rosey run -plugin-mode distributed);
//   - in a test, with package roseytest.
//
// The machinery that runs a bot's plugins (the plugin manager, the
// directory of plugins on the bus, plugin processes) is in package
// plugin/supervisor; a plugin author does not need it.
//
// Each running plugin is a NATS micro service whose command endpoint is
// plugin.<name>.command (queue group rosey.<name>, so copies share the
// work), which is how the router, !help and `nats micro ls` find plugins in
// any process. A plugin handles its commands one at a time, in arrival
// order, unless its Start calls Host.Concurrency: then up to that many run
// side by side (one user's still one at a time, in the order said), for
// handlers that mostly wait, on the database for one. A panic or an error
// in a handler is logged and answered, and never stops the bot. The wire contract, for plugins in other languages, is in
// docs/PROTOCOL.md.
//
// Middleware wraps command handlers for what many commands do alike:
// Host.Use for one plugin's, RunConfig.Middleware (and
// rosey.Config.Middleware) for every plugin's. LogCommands and Timeout are
// ready-made; a middleware that does not call the handler answers for it.
package plugin
