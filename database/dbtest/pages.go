package dbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
)

// testQueryNoTotal: a query with no_total answers the same page as without
// it, with total -1 (database.NotCounted) instead of the count, whatever the
// filter, sort, limit and offset.
func testQueryNoTotal(t *testing.T, env *Env) {
	ctx := context.Background()
	c := env.Client
	coll := seedPlayers(t, env)
	num := database.Filter{"score": map[string]any{"$gte": 0}}
	for _, tc := range []struct {
		name string
		q    database.QueryRequest
	}{
		{"all", database.QueryRequest{Collection: coll}},
		{"first", database.QueryRequest{Collection: coll, Limit: 1}},
		{"a page", database.QueryRequest{Collection: coll, Limit: 2, Offset: 3}},
		{"sorted", database.QueryRequest{Collection: coll, Filter: num, Sort: []string{"-score"}}},
		{"a sorted page", database.QueryRequest{Collection: coll, Filter: num, Sort: []string{"score"}, Limit: 2, Offset: 1}},
		{"filtered", database.QueryRequest{Collection: coll, Filter: database.Filter{"team": "red"}, Limit: 1}},
		{"highest id", database.QueryRequest{Collection: coll, Sort: []string{"-" + database.SortByID}, Limit: 1}},
		{"past the end", database.QueryRequest{Collection: coll, Filter: num, Offset: 10}},
		{"empty collection", database.QueryRequest{Collection: Unique("empty"), Limit: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			is := is.New(t)
			counted, err := c.Query(ctx, q)
			is.NoErr(err)
			is.True(counted.Total >= 0)
			q.NoTotal = true
			res, err := c.Query(ctx, q)
			is.NoErr(err)
			is.Equal(res.Total, database.NotCounted)
			is.Equal(names(t, res), names(t, counted))
			is.True(res.Items != nil) // an empty page is [], as with the total
		})
	}

	t.Run("wire", func(t *testing.T) {
		is := is.New(t)
		var wire struct {
			Items []map[string]json.RawMessage `json:"items"`
			Total *int64                       `json:"total"`
		}
		rep := env.Raw(t, database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"team":"red"},"limit":1,"no_total":true}`, coll))
		is.True(rep.Success)
		is.NoErr(json.Unmarshal(rep.Data, &wire))
		is.True(wire.Total != nil) // total is always there: -1 when not counted
		is.Equal(*wire.Total, int64(-1))
		is.Equal(len(wire.Items), 1)
		is.Equal(string(wire.Items[0]["id"]), "1")
		// false (or null) is the default: counted
		for _, v := range []string{"false", "null"} {
			wire.Total = nil
			rep = env.Raw(t, database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"team":"red"},"limit":1,"no_total":%s}`, coll, v))
			is.True(rep.Success)
			is.NoErr(json.Unmarshal(rep.Data, &wire))
			is.Equal(*wire.Total, int64(2))
		}
		// anything but a boolean is refused, and says which field
		for _, v := range []string{`"yes"`, `1`, `0`, `[true]`, `{}`, `"true"`} {
			rep = env.Raw(t, database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"no_total":%s}`, coll, v))
			is.True(!rep.Success)
			is.Equal(rep.Code, database.CodeInvalidRequest)
			is.True(strings.Contains(rep.Error, "no_total"))
		}
		// the other checks still apply
		for _, body := range []string{
			fmt.Sprintf(`{"collection":%q,"no_total":true,"limit":-1}`, coll),
			fmt.Sprintf(`{"collection":%q,"no_total":true,"limit":1001}`, coll),
			fmt.Sprintf(`{"collection":%q,"no_total":true,"offset":-1}`, coll),
			fmt.Sprintf(`{"collection":%q,"no_total":true,"sort":["a b"]}`, coll),
			fmt.Sprintf(`{"collection":%q,"no_total":true,"filter":{"a":{"$regex":"x"}}}`, coll),
			`{"collection":"a b","no_total":true}`,
			fmt.Sprintf(`{"collection":%q,"no_totals":true}`, coll),
		} {
			rep = env.Raw(t, database.SubjectQuery, body)
			is.True(!rep.Success)
			is.Equal(rep.Code, database.CodeInvalidRequest)
		}
	})
}

// testSortByID: "$id" orders by integer id, "-$id" highest first, string
// ids after them either way in insertion order; it mixes with field sorts
// and filters, pages never overlap, and a deleted highest id is skipped.
func testSortByID(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("byid")
	set := func(id database.ID, team string) database.ID {
		t.Helper()
		got, err := c.Set(ctx, coll, id, map[string]any{"team": team})
		is.NoErr(err)
		return got
	}
	set(database.IntID(5), "red")
	set(database.StringID("b"), "blue")
	set(database.IntID(2), "blue")
	set(database.IntID(9), "red")
	set(database.StringID("a"), "red")
	set(database.IntID(-3), "blue")
	is.Equal(set(database.ID{}, "blue"), database.IntID(10)) // assigned after 9
	set(database.IntID(1000000000000), "red")
	ids := func(res *database.QueryResult) []string {
		out := []string{}
		for _, it := range res.Items {
			out = append(out, it.ID.String())
		}
		return out
	}
	query := func(q database.QueryRequest) []string {
		t.Helper()
		q.Collection = coll
		res, err := c.Query(ctx, q)
		is.NoErr(err)
		return ids(res)
	}
	asc := []string{"-3", "2", "5", "9", "10", "1000000000000", "b", "a"}
	desc := []string{"1000000000000", "10", "9", "5", "2", "-3", "b", "a"}
	is.Equal(query(database.QueryRequest{Sort: []string{"$id"}}), asc)
	is.Equal(query(database.QueryRequest{Sort: []string{"+$id"}}), asc)
	is.Equal(query(database.QueryRequest{Sort: []string{"-$id"}}), desc)
	is.Equal(query(database.QueryRequest{Sort: []string{"-$id"}, Limit: 1, NoTotal: true}), desc[:1])
	// pages put together give the whole order, with or without the total
	var paged []string
	for off := 0; off < len(desc); off += 3 {
		paged = append(paged, query(database.QueryRequest{Sort: []string{"-$id"}, Limit: 3, Offset: off, NoTotal: off%2 == 0})...)
	}
	is.Equal(paged, desc)
	// with a filter, and after a field
	is.Equal(query(database.QueryRequest{Sort: []string{"-$id"}, Filter: database.Filter{"team": "blue"}}), []string{"10", "2", "-3", "b"})
	is.Equal(query(database.QueryRequest{Sort: []string{"team", "$id"}}), []string{"-3", "2", "10", "b", "5", "9", "1000000000000", "a"})
	// the highest id deleted, the next one is the highest
	ok, err := c.Delete(ctx, coll, database.IntID(1000000000000))
	is.NoErr(err)
	is.True(ok)
	is.Equal(query(database.QueryRequest{Sort: []string{"-$id"}, Limit: 1, NoTotal: true}), []string{"10"})
	// only string ids: they are all there is
	strs := Unique("byid_str")
	for _, s := range []string{"x", "y"} {
		_, err := c.Set(ctx, strs, database.StringID(s), map[string]any{})
		is.NoErr(err)
	}
	res, err := c.Query(ctx, database.QueryRequest{Collection: strs, Sort: []string{"-$id"}, Limit: 1, NoTotal: true})
	is.NoErr(err)
	is.Equal(ids(res), []string{"x"})
	// an empty collection has no highest id
	res, err = c.Query(ctx, database.QueryRequest{Collection: Unique("byid_none"), Sort: []string{"-$id"}, Limit: 1, NoTotal: true})
	is.NoErr(err)
	is.Equal(len(res.Items), 0)
	// "$id" is the only name with a "$"
	for _, bad := range []string{"$ids", "$", "-$", "$ID", "$seq", "--$id", "-+$id"} {
		_, err := c.Query(ctx, database.QueryRequest{Collection: coll, Sort: []string{bad}})
		is.True(errors.Is(err, database.ErrInvalidRequest))
	}
}
