// Package dbservice is Rosey's database service: the only component that
// touches SQL. It stores the documents of package database in SQLite (the
// default, through the pure-Go modernc.org/sqlite driver, so no cgo) or in
// PostgreSQL, through uptrace/bun, and answers the database.* subjects as a
// NATS micro service named "database".
//
// Start it with a bus and a Config naming either a data directory (SQLite,
// file rosey.db inside) or a postgres:// URL; Stop drains it and closes the
// database. Run serves until its context ends, for a process that runs only
// this component.
//
// Writes are committed in groups. Every write (set, update, delete,
// schema.register, and the moves at start) goes to one writer goroutine
// through a queue, in the order the requests arrived on their subject. The
// writer opens a transaction, applies the queued writes one after the
// other, takes whatever was queued meanwhile, and commits when the queue is
// empty (at most 512 writes a transaction); each write is answered only
// after the commit that holds it. Nothing waits to fill a batch: a lone
// write is committed at once, and batches form from the writes that arrive
// while a commit is in progress, so under load many writes share one
// commit (one fsync on SQLite, one WAL flush on PostgreSQL). Writes sent
// without waiting for their replies, on different subjects, may be applied
// in any order. Store.WriteStats counts commits, writes and pending writes.
//
// A write that fails is answered alone with its own error; the others of its
// transaction are committed. A refusal decided by the service (not_found,
// validation_failed, ...) writes nothing and the transaction goes on; an
// error from the database rolls the transaction back, and the batch is
// applied again without the write that met it. When the commit itself fails
// (disk full, connection lost) every write of the batch is answered with
// that error and none is stored.
//
// Durability: SQLite runs in WAL mode with synchronous=FULL by default, so a
// write is on disk before its reply is sent; it survives kill -9 and power
// loss. With synchronous "normal", an acknowledged write survives kill -9 but
// the last ones may be lost on power loss. On PostgreSQL an acknowledged
// write is as durable as the server's synchronous_commit makes a commit.
// A write not yet answered may or may not be stored after a crash.
//
// Reads (get, query, count) never wait for the writer: on SQLite they use a
// pool of read-only connections that WAL lets run beside the write
// transaction, on PostgreSQL the connection pool (16), of which the writer
// holds one. A read sees what was committed when it started.
//
// Every value reaches SQL as a bound parameter; collection and field
// names are also checked against strict patterns. The service's own tables
// are created and upgraded with bun migrations (tables rosey_migrations,
// rosey_documents, rosey_sequences, rosey_schemas).
//
// Query semantics worth knowing: comparisons only match values of the
// operand's JSON type (1 never equals true or "1"); $like is SQL LIKE with %
// and _ and backslash as escape, case-insensitive (ASCII on SQLite, full
// Unicode on PostgreSQL); sorting orders a field's values by JSON type
// (numbers, strings in byte order, booleans, then arrays and objects, not
// compared), with null and missing last either way, the same on both
// backends (see package database).
//
// Compiled schemas are cached by each service instance and reloaded at
// start; with several instances on one PostgreSQL database, a schema
// registered through one is enforced by the others after their restart.
package dbservice
