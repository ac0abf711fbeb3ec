// Package monitor makes a running bot observable: Prometheus metrics of
// its commands, plugins, connector and NATS traffic, and an HTTP listener
// serving a live dashboard at /, /metrics, /healthz (the process is alive)
// and /readyz (every part the bot needs is working, with the reason when
// one is not).
//
// The dashboard is a page built into the package (no CDN, no third-party
// script) that updates itself every second over server-sent events
// (/events): commands per second, latency percentiles and message rates
// over the last five minutes, from the Activity that Metrics keeps; the
// plugins, the connectors, and the latest commands and errors, never with
// a user's name or text. With Config.AdminToken and Config.Control set it
// also enables, disables and reloads plugins, for requests that carry the
// token as a Bearer header and come from the page's own origin.
//
// The CyTube connectors and the database service serve their figures over
// NATS, as NATS micro services: a Gatherer asks $SRV.STATS.cytube-connector
// and $SRV.STATS.database every second and keeps what answers, so the
// dashboard and /metrics show every channel and the database operations
// whichever process runs them (Metrics.WatchGatherer,
// Config.Connectors and Config.Database).
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
