package dbtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
)

func testErrorCodes(t *testing.T, env *Env) {
	coll := Unique("codes")
	for _, tc := range []struct {
		subject, body string
		code          database.Code
	}{
		{database.SubjectSet, `{"collection":`, database.CodeMalformed},
		{database.SubjectSet, ``, database.CodeMalformed},
		{database.SubjectGet, `not json`, database.CodeMalformed},
		{database.SubjectSet, `{"collection":"c","data":{"a":1},"extra":1}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":5,"data":{}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":[1,2]}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":"str"}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c"}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","id":1.5,"data":{}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","id":true,"data":{}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","id":99999999999999999999,"data":{}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"","data":{}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":{"s":"a\u0000b"}}`, database.CodeInvalidRequest},
		// lone UTF-16 surrogates: valid JSON text, but no Unicode string
		// (PostgreSQL's jsonb refuses them), so no backend stores them
		{database.SubjectSet, `{"collection":"c","data":{"s":"\ud800"}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":{"s":"x\uDFFF"}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":{"s":"\ud83d\u0041"}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":{"\ud800":1}}`, database.CodeInvalidRequest},
		{database.SubjectSet, `{"collection":"c","data":{"a":["\\ud800","\ude00\ud83d"]}}`, database.CodeInvalidRequest},
		{database.SubjectGet, `{"collection":"c"}`, database.CodeInvalidRequest},
		{database.SubjectGet, fmt.Sprintf(`{"collection":%q,"id":"nope"}`, coll), database.CodeNotFound},
		{database.SubjectGet, fmt.Sprintf(`{"collection":%q,"id":%q}`, coll, strings.Repeat("x", 300)), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"limit":"ten"}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$regex":"x"}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$gt":true}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$in":"x"}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$in":[[1]]}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"b":1}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":[1]}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$like":5}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"a":{"$like":"x\\"}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"sort":"a"}`, coll), database.CodeInvalidRequest},
		{database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"sort":["a b"]}`, coll), database.CodeInvalidRequest},
		{database.SubjectUpdate, fmt.Sprintf(`{"collection":%q,"id":1,"update":{"$unset":{"a":1}}}`, coll), database.CodeInvalidRequest},
		{database.SubjectUpdate, fmt.Sprintf(`{"collection":%q,"id":1,"update":{"$inc":{"a":1}}}`, coll), database.CodeNotFound},
		{database.SubjectDelete, `{"collection":"c","id":null}`, database.CodeInvalidRequest},
		{database.SubjectCount, `{"collection":"a b"}`, database.CodeInvalidRequest},
		{database.SubjectSchemaRegister, `{"collection":"c","schema":"x"}`, database.CodeInvalidRequest},
	} {
		t.Run(tc.subject+" "+tc.body[:min(len(tc.body), 60)], func(t *testing.T) {
			is := is.New(t)
			rep := env.Raw(t, tc.subject, tc.body)
			is.True(!rep.Success)
			is.Equal(rep.Code, tc.code)
			is.True(rep.Error != "")
			is.Equal(string(rep.Data), "null")
		})
	}
	t.Run("Surrogates", func(t *testing.T) {
		is := is.New(t)
		// a pair is one character; an escaped backslash before "ud800" is text
		rep := env.Raw(t, database.SubjectSet, fmt.Sprintf(`{"collection":%q,"id":"pair","data":{"e":"\ud83d\ude00","t":"\\ud800"}}`, coll))
		is.True(rep.Success)
		var m map[string]any
		is.NoErr(env.Client.Get(context.Background(), coll, database.StringID("pair"), &m))
		is.Equal(m, map[string]any{"e": "\U0001F600", "t": `\ud800`})
	})
	t.Run("TooLarge", func(t *testing.T) {
		is := is.New(t)
		big := strings.Repeat("x", database.DefaultMaxDocumentSize)
		_, err := env.Client.Set(context.Background(), coll, database.ID{}, map[string]any{"big": big})
		is.True(errors.Is(err, database.ErrTooLarge))
		// an update that would grow a document past the limit is refused too
		half := strings.Repeat("y", database.DefaultMaxDocumentSize/2+10)
		_, err = env.Client.Set(context.Background(), coll, database.StringID("grow"), map[string]any{"a": half})
		is.NoErr(err)
		err = env.Client.Update(context.Background(), coll, database.StringID("grow"), database.Update{Set: map[string]any{"b": half}}, nil)
		is.True(errors.Is(err, database.ErrTooLarge))
	})
}

// testHostile throws injection attempts at every place user text reaches
// SQL and checks that stored data is untouched.
func testHostile(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("victim")
	for i := range 3 {
		_, err := c.Set(ctx, coll, database.ID{}, map[string]any{"name": fmt.Sprintf("n%d", i), "score": i})
		is.NoErr(err)
	}
	evil := []string{
		`x'; DROP TABLE rosey_documents; --`,
		`x" OR 1=1 --`,
		`a') OR ('1'='1`,
		`$.name'); DELETE FROM rosey_documents; --`,
		`name' || '`,
		"a\x00b",
		`'`, `"`, `\`, `%`, `?`, `$1`, `;`,
		strings.Repeat("A", 5000),
	}
	for _, s := range evil {
		// as a collection name
		_, err := c.Set(ctx, s, database.ID{}, map[string]any{"a": 1})
		is.True(errors.Is(err, database.ErrInvalidRequest)) // collection name

		_, err = c.Query(ctx, database.QueryRequest{Collection: s})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		// as a field name in filter, sort and update
		_, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{s: 1}})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		_, err = c.Query(ctx, database.QueryRequest{Collection: coll, Sort: []string{s}})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		_, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"name": map[string]any{s: 1}}})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		err = c.Update(ctx, coll, database.IntID(1), database.Update{Set: map[string]any{s: 1}}, nil)
		is.True(errors.Is(err, database.ErrInvalidRequest))
		// as values: accepted, matched literally, nothing else happens
		if !strings.ContainsRune(s, 0) && len(s) <= 256 {
			res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"name": s}})
			is.NoErr(err)
			is.Equal(res.Total, int64(0))
			ops := map[string]any{"$like": s, "$ne": s, "$in": []string{s}, "$gt": s}
			if strings.HasSuffix(s, `\`) {
				delete(ops, "$like") // a lone escape at the end is refused, tested below
			}
			res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"name": ops}})
			is.NoErr(err)
			is.Equal(res.Total, int64(0))
			err = c.Get(ctx, coll, database.StringID(s), &map[string]any{})
			is.True(errors.Is(err, database.ErrNotFound))
		}
	}
	// stored documents may hold anything
	_, err := c.Set(ctx, coll, database.StringID(evil[0]), map[string]any{"name": evil[1], evil[2]: evil[0]})
	is.NoErr(err)
	var m map[string]any
	is.NoErr(c.Get(ctx, coll, database.StringID(evil[0]), &m))
	is.Equal(m[evil[2]], evil[0])
	// deep nesting and odd JSON are refused or stored, never a crash
	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	rep := env.Raw(t, database.SubjectSet, fmt.Sprintf(`{"collection":%q,"data":%s}`, coll, deep))
	is.True(!rep.Success)
	for _, body := range []string{`null`, `[]`, `{"collection":null}`, `{"collection":{"$gt":""}}`, `"str"`, `1e999`} {
		for _, subj := range []string{database.SubjectSet, database.SubjectGet, database.SubjectQuery, database.SubjectUpdate, database.SubjectDelete, database.SubjectCount, database.SubjectSchemaRegister} {
			rep := env.Raw(t, subj, body)
			is.True(!rep.Success)
		}
	}
	// a number beyond float64 is legal JSON: stored, and the collection
	// stays queryable
	rep = env.Raw(t, database.SubjectSet, fmt.Sprintf(`{"collection":%q,"id":"huge","data":{"score":1e999}}`, coll))
	is.True(rep.Success)
	_, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"score": map[string]any{"$gt": 1}}, Sort: []string{"score"}})
	is.NoErr(err)
	_, err = c.Delete(ctx, coll, database.StringID("huge"))
	is.NoErr(err)
	// everything is still there
	n, err := c.Count(ctx, coll, nil)
	is.NoErr(err)
	is.Equal(n, int64(4))
	res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Sort: []string{"score"}, Filter: database.Filter{"score": map[string]any{"$gte": 0}}})
	is.NoErr(err)
	is.Equal(names(t, res), []string{"n0", "n1", "n2"})
}
