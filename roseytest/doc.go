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
// Tests written this way go through the same NATS contract as the real
// bot, so they test what users see, not a plugin's internals.
package roseytest
