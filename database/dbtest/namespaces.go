package dbtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
)

// testNamespaces checks that namespaces keep collections apart: the same
// collection name in two namespaces and in the default one names three
// collections, with their own documents, id sequences and schemas, and a
// namespaced request cannot name a collection outside its namespace.
func testNamespaces(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	nsA, nsB := Unique("ns-a"), Unique("ns-b")
	a, b, def := env.Client.Namespace(nsA), env.Client.Namespace(nsB), env.Client
	is.Equal(a.NamespaceName(), nsA)
	coll := Unique("things")

	for _, c := range []struct {
		db   *database.Client
		text string
	}{{a, "in a"}, {b, "in b"}, {def, "in default"}} {
		id, err := c.db.Set(ctx, coll, database.ID{}, quote{Text: c.text})
		is.NoErr(err)
		is.Equal(id, database.IntID(1)) // each has its own sequence
	}
	for _, c := range []struct {
		db   *database.Client
		text string
	}{{a, "in a"}, {b, "in b"}, {def, "in default"}} {
		var q quote
		is.NoErr(c.db.Get(ctx, coll, database.IntID(1), &q))
		is.Equal(q.Text, c.text)
		n, err := c.db.Count(ctx, coll, nil)
		is.NoErr(err)
		is.Equal(n, int64(1))
		res, err := c.db.Query(ctx, database.QueryRequest{Collection: coll})
		is.NoErr(err)
		is.Equal(len(res.Items), 1)
	}
	deleted, err := a.Delete(ctx, coll, database.IntID(1))
	is.NoErr(err)
	is.True(deleted)
	var q quote
	is.NoErr(b.Get(ctx, coll, database.IntID(1), &q)) // b's is still there
	is.True(errors.Is(a.Get(ctx, coll, database.IntID(1), &q), database.ErrNotFound))

	// A schema in one namespace binds only that namespace's collection,
	// and its reply names the collection as the client did.
	rep := env.Raw(t, database.NamespaceSubject(nsA, "schema.register"), `{"collection": "`+coll+`", "schema": {"type": "object", "required": ["name"]}}`)
	is.True(rep.Success)
	is.Equal(string(rep.Data), `{"collection":"`+coll+`","registered":true}`)
	_, err = a.Set(ctx, coll, database.ID{}, map[string]any{"age": 1})
	is.True(errors.Is(err, database.ErrValidation))
	_, err = b.Set(ctx, coll, database.ID{}, map[string]any{"age": 1})
	is.NoErr(err)
	is.NoErr(a.Upsert(ctx, coll, database.StringID("x"), database.Update{Set: map[string]any{"name": "n"}, Inc: map[string]any{"n": 2}}, nil))

	// A namespaced request cannot step out of its namespace: a collection
	// holding "/" is refused, whatever the body says.
	for _, op := range []string{"get", "set", "query", "count", "delete", "update"} {
		body := map[string]string{
			"get":    `{"collection": "` + nsB + `/` + coll + `", "id": 1}`,
			"set":    `{"collection": "` + nsB + `/` + coll + `", "id": 1, "data": {"text": "overwritten"}}`,
			"query":  `{"collection": "` + nsB + `/` + coll + `"}`,
			"count":  `{"collection": "` + nsB + `/` + coll + `"}`,
			"delete": `{"collection": "` + nsB + `/` + coll + `", "id": 1}`,
			"update": `{"collection": "` + nsB + `/` + coll + `", "id": 1, "update": {"$set": {"text": "overwritten"}}}`,
		}[op]
		rep := env.Raw(t, database.NamespaceSubject(nsA, op), body)
		is.True(!rep.Success)
		is.Equal(rep.Code, database.CodeInvalidRequest)
	}
	is.NoErr(b.Get(ctx, coll, database.IntID(1), &q))
	is.Equal(q.Text, "in b")

	// The default subjects address a namespace as "<namespace>/<name>"
	// (for the bot's own tools; no plugin user is allowed them).
	rep = env.Raw(t, database.SubjectGet, `{"collection": "`+nsB+`/`+coll+`", "id": 1}`)
	is.True(rep.Success)
	is.True(strings.Contains(string(rep.Data), "in b"))

	// Names that are not namespaces are refused.
	rep = env.Raw(t, database.NamespaceSubject(database.ReservedNamespace, "get"), `{"collection": "x", "id": 1}`)
	is.Equal(rep.Code, database.CodeInvalidRequest)
	err = env.Client.Namespace("a.b").Get(ctx, coll, database.IntID(1), &q)
	is.True(errors.Is(err, database.ErrInvalidRequest))
}

// testMoves checks the service's "moves" setting: a collection of the
// default namespace moves into a namespace with its documents, ids,
// sequence and schema, once, and never onto a collection with documents.
func testMoves(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	ns := Unique("mover")
	old, kept := Unique("old"), Unique("kept")
	is.NoErr(env.Client.RegisterSchema(ctx, old, userSchema))
	for _, name := range []string{"ann", "bob"} {
		_, err := env.Client.Set(ctx, old, database.ID{}, map[string]any{"name": name})
		is.NoErr(err)
	}
	// kept has documents in both places: it must not move.
	_, err := env.Client.Set(ctx, kept, database.StringID("k"), map[string]any{"name": "default"})
	is.NoErr(err)
	_, err = env.Client.Namespace(ns).Set(ctx, kept, database.StringID("k"), map[string]any{"name": "namespaced"})
	is.NoErr(err)

	env.Config.Moves = map[string]string{old: ns + "/" + old, kept: ns + "/" + kept}
	env.Restart(t)
	mine := env.Client.Namespace(ns)
	var m map[string]any
	is.NoErr(mine.Get(ctx, old, database.IntID(2), &m))
	is.Equal(m["name"], "bob")
	n, err := env.Client.Count(ctx, old, nil)
	is.NoErr(err)
	is.Equal(n, int64(0)) // nothing left behind
	id, err := mine.Set(ctx, old, database.ID{}, map[string]any{"name": "cy"})
	is.NoErr(err)
	is.Equal(id, database.IntID(3)) // the sequence came along
	_, err = mine.Set(ctx, old, database.ID{}, map[string]any{"age": 1})
	is.True(errors.Is(err, database.ErrValidation)) // and the schema
	is.NoErr(env.Client.Get(ctx, kept, database.StringID("k"), &m))
	is.Equal(m["name"], "default")
	is.NoErr(mine.Get(ctx, kept, database.StringID("k"), &m))
	is.Equal(m["name"], "namespaced")

	// Starting again with the same setting moves nothing more.
	_, err = env.Client.Set(ctx, old, database.IntID(1), map[string]any{"name": "new default"})
	is.NoErr(err)
	env.Restart(t)
	is.NoErr(env.Client.Get(ctx, old, database.IntID(1), &m))
	is.Equal(m["name"], "new default")
	is.NoErr(mine.Get(ctx, old, database.IntID(1), &m))
	is.Equal(m["name"], "ann")
}

// testBuiltinMigration checks the migration that moved the built-in
// plugins' collections into their namespaces: run again on a database
// whose default namespace holds "quotes" and "seen", it moves them (ids,
// sequence and all) and leaves other collections alone.
func testBuiltinMigration(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	st := env.Service.Store()
	// Other tests sharing a PostgreSQL database never use these names.
	for _, c := range []string{"quotes", "seen", "quote-db/quotes", "seen/seen"} {
		_, err := st.DB().NewRaw("DELETE FROM rosey_documents WHERE collection = ?", c).Exec(ctx)
		is.NoErr(err)
		_, err = st.DB().NewRaw("DELETE FROM rosey_sequences WHERE collection = ?", c).Exec(ctx)
		is.NoErr(err)
	}
	other := Unique("other")
	for _, c := range []string{"quotes", "quotes", other} {
		_, err := env.Client.Set(ctx, c, database.ID{}, map[string]any{"text": c})
		is.NoErr(err)
	}
	_, err := env.Client.Set(ctx, "seen", database.StringID("alice"), map[string]any{"last": "hi"})
	is.NoErr(err)
	// Make it look like a database from before namespaces.
	_, err = st.DB().NewRaw("DELETE FROM rosey_migrations WHERE name = '20260101000003'").Exec(ctx)
	is.NoErr(err)
	env.Restart(t)

	quotes := env.Client.Namespace("quote-db")
	n, err := quotes.Count(ctx, "quotes", nil)
	is.NoErr(err)
	is.Equal(n, int64(2))
	id, err := quotes.Set(ctx, "quotes", database.ID{}, map[string]any{"text": "third"})
	is.NoErr(err)
	is.Equal(id, database.IntID(3)) // the sequence moved too
	var m map[string]any
	is.NoErr(env.Client.Namespace("seen").Get(ctx, "seen", database.StringID("alice"), &m))
	is.Equal(m["last"], "hi")
	n, err = env.Client.Count(ctx, "quotes", nil)
	is.NoErr(err)
	is.Equal(n, int64(0))
	n, err = env.Client.Count(ctx, other, nil)
	is.NoErr(err)
	is.Equal(n, int64(1)) // not a built-in plugin's: it stays
}
