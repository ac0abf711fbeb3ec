// Package channeltest runs a whole bot in a channel of the fake CyTube
// server (package cytube/cytubetest), for the tests of plugins that work
// the channel: the real connector on a real websocket, the router, the
// database service on SQLite in a temporary folder, and the plugins under
// test. A test says lines as users of the channel and waits for what the
// bot says there, and reads the channel's state from the fake server.
//
//	ch := channeltest.Start(t, channeltest.WithPlugins(poll.New(poll.Config{})), channeltest.WithBotRank(2))
//	ch.Server.Join(ch.Name, "mod", 2)
//	ch.Say("mod", "!poll Lunch? | pizza | soup")
//	ch.Expect("📊 Poll open")
//
// WithChannels puts the bot in more channels of the same server, and In
// gives a view of one of them, to check that a plugin acts and speaks in
// the channel a command came from.
//
// It is internal: plugin authors outside this module use roseytest.
package channeltest
