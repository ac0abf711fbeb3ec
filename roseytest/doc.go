// Package roseytest is a test harness for plugin authors, in the spirit of
// net/http/httptest: New starts a real bot core (an in-process NATS server,
// the database service on SQLite in t.TempDir(), the plugin manager and the
// router) with your plugins, and stands in for the CyTube connector. Say and
// PM send lines as users with the ranks you give them; Expect, ExpectPM and
// ExpectNone check what the bot answers. Everything is cleaned up with
// t.Cleanup.
//
// The bot's logs go to t.Log (from slog.LevelInfo; see WithLogLevel), and
// an expectation that fails shows the warnings and errors logged since the
// last one met: a handler's error, hidden from users behind "⚠️ Something
// went wrong", is right there in the failure.
//
// Nothing needs configuring: the harness's bus is the bot's own. To test a
// plugin in a process of its own, let the harness's server listen
// (WithConfig setting NATS.Embedded.NoListen false and Listen
// "127.0.0.1:0"); it then requires the credentials the bot generates, which
// ClientConfig (for plugin.ServeContext) and ClientEnv (for a binary's
// environment) hand over, as the real bot hands them to its plugin
// processes. Its plugins keep their data in their own database namespaces.
//
// Tests written this way go through the same NATS contract as the real
// bot, so they test what users see, not a plugin's internals.
package roseytest
