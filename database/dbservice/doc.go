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
// Durability: SQLite runs in WAL mode with synchronous=FULL by default, so a
// write is on disk before its reply is sent; it survives kill -9 and power
// loss. Every value reaches SQL as a bound parameter; collection and field
// names are also checked against strict patterns. The service's own tables
// are created and upgraded with bun migrations (tables rosey_migrations,
// rosey_documents, rosey_sequences, rosey_schemas).
//
// Query semantics worth knowing: comparisons only match values of the
// operand's JSON type (1 never equals true or "1"); $like is SQL LIKE with %
// and _ and backslash as escape, case-insensitive (ASCII on SQLite, full
// Unicode on PostgreSQL); sorting puts missing fields last, and values of
// different JSON types in one sorted field order differently on the two
// backends.
//
// Compiled schemas are cached by each service instance and reloaded at
// start; with several instances on one PostgreSQL database, a schema
// registered through one is enforced by the others after their restart.
package dbservice
