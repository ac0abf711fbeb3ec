// Package database is the client side of Rosey's database service, and the
// wire contract it speaks.
//
// Plugins never touch SQL. They store documents (JSON objects) in named
// collections by sending requests over NATS to the database service (package
// database/dbservice), on the subjects database.set, database.get,
// database.query, database.delete, database.update, database.count and
// database.schema.register. Every reply has the shape
//
//	{"success": true|false, "data": ..., "error": "...", "code": "..."}
//
// where code is machine-readable (see [Code]). A plugin in another language
// sends the request structs of this package as plain JSON.
//
// Each plugin's collections live in a namespace of its own: the same
// requests on database.<namespace>.<op> (see [NamespaceSubject] and
// [Client.Namespace]). The service takes the namespace from the subject, so
// the NATS server's permissions decide who reaches which collections; the
// subjects without a namespace are the default namespace.
//
// [Client] wraps those requests for Go: it (un)marshals structs, and every
// error it returns can be tested with errors.Is against the sentinels
// ([ErrNotFound], [ErrValidation], ...) or inspected with errors.As as an
// [*Error] carrying the code.
//
// A query answers a page of documents and, unless it sets NoTotal, the count
// of every match: counting visits them all, so a caller that does not show
// the total should not ask for it ([QueryRequest]). [SortByID] sorts by id;
// "-$id" with a limit of 1 reads a collection's highest integer id.
//
// Sorting by a field orders its values the same way on every backend, by
// JSON type first: numbers by value, then strings in byte order (of their
// UTF-8: "B" before "a", "z" before "é"), then false and true, then arrays
// and objects, which are not compared with one another. Documents whose
// field is null or missing come after all of them, ascending or
// descending: "-name" reverses the order of the values only. Documents
// that tie are ordered by the next sort field, and last in insertion
// order, so pages never overlap.
//
// Ids are integers or strings ([IntID], [StringID]). A set without an id gets
// the next integer of its collection (a quote plugin says "Quote #42").
// An integer id and the string of the same digits name the same document.
//
// This package does not import bun or any SQL driver, so plugin binaries that
// use it stay small.
package database
