// Package rosey assembles a CyTube chat bot from components that talk only
// over NATS: the event bus (an embedded NATS server by default), the
// database service, the plugin manager, the command router and a connector
// (CyTube, or the console for local use).
//
//	cfg := rosey.Config{Plugins: builtin.All()}
//	cfg.CyTube.Channel, cfg.CyTube.User = "mychannel", "MyBot"
//	err := rosey.New(cfg).Run(ctx)
//
// Start brings the components up in that order and Stop takes them down in
// reverse; this package holds no business logic. Everything users see comes
// from plugins (package plugin), which can also run as separate processes in
// any language against the wire contract in docs/PROTOCOL.md.
//
// Config can be loaded from a JSON file with LoadConfig; secrets come from
// environment variables (ApplyEnv). The library logs nothing unless given a
// Logger.
package rosey
