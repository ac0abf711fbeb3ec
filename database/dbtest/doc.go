// Package dbtest is the contract test suite of the database service: every
// operation and error code of the database.* subjects, exercised over a
// real embedded NATS server. RunContract runs it against any backend a
// dbservice.Config can name, so the same tests cover SQLite and PostgreSQL.
package dbtest
