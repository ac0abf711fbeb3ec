// Package monitor makes a running bot observable: Prometheus metrics of
// its commands, plugins, connector and NATS traffic, and an HTTP listener
// serving /metrics, /healthz (the process is alive) and /readyz (every
// part the bot needs is working, with the reason when one is not).
//
// A bot built with rosey.New wires all of it from one setting,
// "http": {"listen": "127.0.0.1:9321"}. A program that assembles
// components itself creates a Metrics, hands it to the router as
// router.Config.Observer, watches the other parts with the Watch methods,
// and serves it with a Server.
//
// Metric names follow Prometheus conventions: a rosey_ prefix, base units
// (seconds, bytes) and _total for counters. Labels are bounded: channel,
// plugin, command and outcome, never a user name or free text.
package monitor
