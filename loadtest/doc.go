// Package loadtest offers sustained chat load to a Rosey bot and reports
// what came back: how many lines were offered, answered, lost and
// duplicated, the latency percentiles, the throughput, and the CPU time and
// memory of the processes involved. It sizes a setup (`rosey loadtest`) and
// backs the capacity benchmarks.
//
// Run stands in for the CyTube connector: it publishes cytube.chat events
// on the bot's bus exactly as the connector does, each line with a
// correlation id of its own, and takes the answers off cytube.send.chat and
// cytube.send.pm, where the router keeps the line's correlation id
// (docs/PROTOCOL.md). So every answer is matched to its line, whatever the
// order, and a second answer is seen as a duplicate. Lines are offered at a
// fixed rate (an open loop: the offered rate does not slow when the bot
// does, as in a real channel), or with Rate zero as fast as the bot answers
// with a bounded number in flight (a closed loop, to find capacity).
//
// A Mix says what is said, as "roll=40,flip=20,quote-add=10,seen=10,help=5,chat=15":
// commands that touch nothing (roll, flip, 8ball, help), commands that
// touch the database (quote-add writes, quote and seen read), and plain
// chat, which the seen plugin records.
//
// StartBot starts a bot's core on embedded defaults (a temporary SQLite
// directory), with the plugins in process or each in a process of its own
// (Distributed), for Run to load. Run works as well against any bot whose
// NATS a program can reach, as long as no connector of that bot sends the
// answers on to a real channel.
//
// CPU and memory are read from /proc (Linux): the CPU time the measured
// processes used during the run, their resident memory at its end and the
// sum of their peaks during it. By default they are this process and its
// descendants: the harness's own work is in the figures of an in-process
// bot.
package loadtest
