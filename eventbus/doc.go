// Package eventbus is the NATS wrapper every Rosey component uses.
//
// A [Bus] publishes and subscribes to events, and makes and answers
// requests, always with a [context.Context]. Each message's body is the plain
// JSON payload; the envelope (correlation id, priority, timestamp, source and
// metadata) travels in NATS headers named Rosey-*, so a plugin in any language
// can read the payload directly. See docs/PROTOCOL.md for the wire contract.
//
// Correlation ids propagate on their own: a handler's context carries the id
// of the event it handles, and everything published or requested with that
// context carries it too. A reply keeps its request's id.
//
// Connect to an external server or cluster with [Config.URLs], or to an
// embedded server in the same process (package eventbus/embedded) with
// [Config.InProcess]. This package never links nats-server itself, so plugin
// binaries stay small.
package eventbus
