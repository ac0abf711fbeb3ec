package database

import (
	"encoding/json"
	"time"
)

// Subjects of the database service, without any configured prefix.
const (
	SubjectSet            = "database.set"
	SubjectGet            = "database.get"
	SubjectQuery          = "database.query"
	SubjectDelete         = "database.delete"
	SubjectUpdate         = "database.update"
	SubjectCount          = "database.count"
	SubjectSchemaRegister = "database.schema.register"
)

// NamespaceSubject returns the subject of op ("set", "get", …,
// "schema.register") in namespace ns: database.<ns>.<op>. Every plugin has
// a namespace of its own, named after it; the NATS server's permissions
// decide who may publish on it, so a plugin's collections are its own.
// The subjects without a namespace (SubjectSet, …) are the default
// namespace, where collections are what they were before namespaces.
func NamespaceSubject(ns, op string) string { return "database." + ns + "." + op }

// ReservedNamespace cannot be used: database.schema.> would also cover the
// default namespace's database.schema.register.
const ReservedNamespace = "schema"

// ServiceName is the NATS micro service name of the database service.
const ServiceName = "database"

// Limits of the wire contract.
const (
	// DefaultLimit is the query limit when none is given.
	DefaultLimit = 100
	// MaxLimit is the largest query limit.
	MaxLimit = 1000
	// DefaultMaxDocumentSize is the default bound on a document's JSON size.
	DefaultMaxDocumentSize = 256 << 10
	// MaxCollectionLen and MaxIDLen bound collection names and string ids.
	MaxCollectionLen = 64
	MaxIDLen         = 256
	// MaxInValues bounds the values of one field's $in in a filter, and
	// MaxInTotal those of all the filter's $in together.
	MaxInValues = 1000
	MaxInTotal  = 10000
)

// Reply is every reply of the service. On success Data holds the result;
// on failure Error holds a message and Code its machine-readable kind.
type Reply struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error,omitempty"`
	Code    Code            `json:"code,omitempty"`
}

// SetRequest is the body of database.set: store Data (a JSON object) under
// ID, replacing any document there. Without an ID the next integer of the
// collection is assigned. Reply data: SetResult.
type SetRequest struct {
	Collection string          `json:"collection"`
	ID         ID              `json:"id,omitzero"`
	Data       json.RawMessage `json:"data"`
}

// SetResult is the data of a database.set reply.
type SetResult struct {
	ID ID `json:"id"`
}

// GetRequest is the body of database.get. Reply data: the stored object.
type GetRequest struct {
	Collection string `json:"collection"`
	ID         ID     `json:"id"`
}

// Filter selects documents by their top-level fields. A field maps to a
// value (equality) or to an object of operators: $gt $gte $lt $lte $ne $in
// $like, for example {"score": {"$gte": 10}, "user": "alice"}. Values are
// JSON scalars ($in takes an array of them); $like takes a SQL LIKE pattern
// with % and _.
type Filter map[string]any

// QueryRequest is the body of database.query. Sort lists field names, each
// optionally prefixed with "-" for descending order, or SortByID; documents
// are otherwise in insertion order. A field holding values of several JSON
// types sorts numbers, strings, booleans, then arrays and objects, with null
// and missing last (see the package doc). Limit defaults to DefaultLimit and is at
// most MaxLimit. Reply data: QueryResult.
//
// NoTotal asks for the page alone: the reply's Total is then NotCounted.
// Counting the matches visits every one of them, however small the page,
// while a page alone stops at its limit (plus its offset) when its order
// comes from an index: insertion order, or "-$id". A caller that does not
// show the total should set it.
type QueryRequest struct {
	Collection string   `json:"collection"`
	Filter     Filter   `json:"filter,omitempty"`
	Sort       []string `json:"sort,omitempty"`
	Limit      int      `json:"limit,omitempty"`
	Offset     int      `json:"offset,omitempty"`
	NoTotal    bool     `json:"no_total,omitempty"`
}

// SortByID is the sort key of the document id, written where a field name
// goes in QueryRequest.Sort: "$id" orders documents by their integer ids,
// "-$id" highest first; documents whose id is a string come after them
// either way, in insertion order. {"sort": ["-$id"], "limit": 1, "no_total":
// true} reads the highest integer id of a collection through an index, in
// the same time however large the collection.
const SortByID = "$id"

// NotCounted is the Total of a QueryResult answering a request with
// NoTotal: the matches were not counted.
const NotCounted int64 = -1

// QueryResult is the data of a database.query reply. Total counts every
// document matching the filter, regardless of limit and offset, or is
// NotCounted (-1) when the request said NoTotal.
type QueryResult struct {
	Items []Item `json:"items"`
	Total int64  `json:"total"`
}

// Item is one document of a query result.
type Item struct {
	ID        ID              `json:"id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Decode unmarshals the item's data into v.
func (it Item) Decode(v any) error {
	if err := json.Unmarshal(it.Data, v); err != nil {
		return &Error{Op: "decode", Code: CodeInternal, Message: err.Error(), Err: err}
	}
	return nil
}

// DeleteRequest is the body of database.delete. Reply data: DeleteResult.
type DeleteRequest struct {
	Collection string `json:"collection"`
	ID         ID     `json:"id"`
}

// DeleteResult is the data of a database.delete reply: whether a document
// was there to delete.
type DeleteResult struct {
	Deleted bool `json:"deleted"`
}

// Update changes top-level fields of one document atomically: Inc adds
// numbers to fields (a missing field counts as 0), Set replaces fields.
// A field may not appear in both.
type Update struct {
	Inc map[string]any `json:"$inc,omitempty"`
	Set map[string]any `json:"$set,omitempty"`
}

// UpdateRequest is the body of database.update. With Upsert a missing
// document is created from the update. Reply data: the object after the
// update.
type UpdateRequest struct {
	Collection string `json:"collection"`
	ID         ID     `json:"id"`
	Update     Update `json:"update"`
	Upsert     bool   `json:"upsert,omitempty"`
}

// CountRequest is the body of database.count. Reply data: CountResult.
type CountRequest struct {
	Collection string `json:"collection"`
	Filter     Filter `json:"filter,omitempty"`
}

// CountResult is the data of a database.count reply.
type CountResult struct {
	Count int64 `json:"count"`
}

// SchemaRequest is the body of database.schema.register: Schema is a JSON
// Schema (draft 2020-12 unless it says otherwise) that every later write to
// the collection must satisfy; null removes the collection's schema.
// Documents already stored are not re-checked. Reply data: SchemaResult.
type SchemaRequest struct {
	Collection string          `json:"collection"`
	Schema     json.RawMessage `json:"schema"`
}

// SchemaResult is the data of a database.schema.register reply.
type SchemaResult struct {
	Collection string `json:"collection"`
	Registered bool   `json:"registered"`
}
