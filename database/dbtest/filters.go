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

// fill returns n numbers that match no document of these tests.
func fill(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = 100000 + i
	}
	return out
}

// testLargeFilters: filters as large as the limits allow are answered, on
// both databases, with the same matches as small ones ($in of the most
// values a field may hold, on many fields); larger ones, and strings the
// databases cannot compare (NUL), are refused as invalid requests, never
// answered with an internal error, and the service goes on answering.
func testLargeFilters(t *testing.T, env *Env) {
	ctx := context.Background()
	c := env.Client
	coll := seedPlayers(t, env)

	t.Run("the largest $in", func(t *testing.T) {
		is := is.New(t)
		// 1000 values, of every type: 10.0 equals bob's 10; "30" is not
		// alice's 30, nor true anyone's score.
		in := append([]any{20, "high", 10.0, "30", true}, fill(database.MaxInValues-5)...)
		is.Equal(len(in), database.MaxInValues)
		f := database.Filter{"score": map[string]any{"$in": in}}
		res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Filter: f})
		is.NoErr(err)
		is.Equal(names(t, res), []string{"bob", "carol", "eve"})
		is.Equal(res.Total, int64(3))
		n, err := c.Count(ctx, coll, f)
		is.NoErr(err)
		is.Equal(n, int64(3))
		// with another operator on the field, and the booleans apart
		f = database.Filter{
			"score": map[string]any{"$in": in, "$ne": 10},
			"admin": map[string]any{"$in": append([]any{false}, fill(database.MaxInValues-1)...)},
			"name":  map[string]any{"$in": append([]any{"carol", "eve", "dave"}, fill(database.MaxInValues-3)...)},
		}
		res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: f})
		is.NoErr(err)
		is.Equal(names(t, res), []string{}) // nobody stored admin: false
		f["admin"] = map[string]any{"$in": append([]any{true, false}, fill(database.MaxInValues-2)...)}
		f["name"] = map[string]any{"$in": append([]any{"alice", "carol"}, fill(database.MaxInValues-2)...)}
		f["score"] = map[string]any{"$in": append([]any{30, 20}, fill(database.MaxInValues-2)...)}
		res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: f})
		is.NoErr(err)
		is.Equal(names(t, res), []string{"alice"})
	})

	t.Run("$in on many fields", func(t *testing.T) {
		is := is.New(t)
		many := Unique("manyfields")
		fields := database.MaxInTotal / database.MaxInValues
		doc, other := map[string]any{"name": "all"}, map[string]any{"name": "one off"}
		f := database.Filter{}
		for i := range fields {
			doc[fmt.Sprintf("f%d", i)] = i
			other[fmt.Sprintf("f%d", i)] = i
			f[fmt.Sprintf("f%d", i)] = map[string]any{"$in": append([]any{i}, fill(database.MaxInValues-1)...)}
		}
		other["f0"] = -1
		for _, d := range []map[string]any{doc, other} {
			_, err := c.Set(ctx, many, database.ID{}, d)
			is.NoErr(err)
		}
		res, err := c.Query(ctx, database.QueryRequest{Collection: many, Filter: f, Sort: []string{"-f1", "name"}})
		is.NoErr(err)
		is.Equal(names(t, res), []string{"all"})
		n, err := c.Count(ctx, many, f)
		is.NoErr(err)
		is.Equal(n, int64(1))
		// one value more than a filter may hold in all
		f["f0"] = map[string]any{"$in": fill(database.MaxInValues - 1), "$gt": 0}
		f["extra"] = map[string]any{"$in": []any{1, 2}}
		_, err = c.Query(ctx, database.QueryRequest{Collection: many, Filter: f})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		is.True(strings.Contains(err.Error(), "$in"))
	})

	t.Run("refused", func(t *testing.T) {
		for name, f := range map[string]database.Filter{
			"every field at its most": func() database.Filter {
				f := database.Filter{}
				for i := range 32 {
					f[fmt.Sprintf("f%d", i)] = map[string]any{"$in": fill(database.MaxInValues)}
				}
				return f
			}(),
			"one $in too long": {"score": map[string]any{"$in": fill(database.MaxInValues + 1)}},
			"NUL":              {"team": "re\x00d"},
			"NUL in $eq":       {"team": map[string]any{"$eq": "\x00"}},
			"NUL in $ne":       {"team": map[string]any{"$ne": "re\x00d"}},
			"NUL in $in":       {"team": map[string]any{"$in": []any{"red", "re\x00d"}}},
			"NUL in $gt":       {"team": map[string]any{"$gt": "re\x00d"}},
			"NUL in $like":     {"team": map[string]any{"$like": "re\x00%"}},
		} {
			t.Run(name, func(t *testing.T) {
				is := is.New(t)
				_, err := c.Query(ctx, database.QueryRequest{Collection: coll, Filter: f})
				is.True(errors.Is(err, database.ErrInvalidRequest)) // not internal
				_, err = c.Count(ctx, coll, f)
				is.True(errors.Is(err, database.ErrInvalidRequest))
				// and the service answers on
				res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"team": "red"}})
				is.NoErr(err)
				is.Equal(names(t, res), []string{"alice", "carol"})
			})
		}
	})
}
