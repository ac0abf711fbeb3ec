// Package embedded runs a nats-server inside the bot's process, so the bot
// needs no NATS installation. It listens on 127.0.0.1:4222 by default, on a
// random port with Listen "127.0.0.1:0", or on no socket at all with NoListen
// (in-process connections only). The server's own signal handling is off.
//
// Only the root package, the reference binary and tests import this package;
// plugin binaries connect to a server somewhere else.
package embedded
