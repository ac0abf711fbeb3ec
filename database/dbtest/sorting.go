package dbtest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
)

// testSortMixedTypes: a field holding values of every JSON type sorts in
// the one order the contract defines (see package database): numbers by
// value, then strings in byte order, then false and true, then arrays and
// objects (not compared: in insertion order); null and missing last
// either way. "-field" reverses the values, not where null and missing
// go. Ties keep insertion order, or go to the next sort field; pages cut
// the same order.
func testSortMixedTypes(t *testing.T, env *Env) {
	ctx := context.Background()
	c := env.Client
	coll := Unique("mixed")
	for _, doc := range []string{
		`{"name":"ten","v":10}`,
		`{"name":"b","v":"b"}`,
		`{"name":"true","v":true}`,
		`{"name":"null","v":null}`,
		`{"name":"array","v":[1]}`,
		`{"name":"two","v":2}`,
		`{"name":"B","v":"B"}`,
		`{"name":"false","v":false}`,
		`{"name":"missing"}`,
		`{"name":"object","v":{"x":1}}`,
		`{"name":"two.five","v":2.5}`,
		`{"name":"a","v":"a"}`,
		`{"name":"minus one","v":-1}`,
		`{"name":"empty array","v":[]}`,
		`{"name":"empty string","v":""}`,
		`{"name":"two.zero","v":2.0}`,
		`{"name":"é","v":"é"}`,
		`{"name":"z","v":"z"}`,
		`{"name":"zero","v":0}`,
	} {
		if _, err := c.Set(ctx, coll, database.ID{}, json.RawMessage(doc)); err != nil {
			t.Fatal(err)
		}
	}
	numbers := []string{"minus one", "zero", "two", "two.zero", "two.five", "ten"} // 2 and 2.0 tie
	numbersDown := []string{"ten", "two.five", "two", "two.zero", "zero", "minus one"}
	strs := []string{"empty string", "B", "a", "b", "z", "é"} // bytes: "é" is 0xc3 0xa9
	bools := []string{"false", "true"}
	composite := []string{"array", "object", "empty array"}
	absent := []string{"null", "missing"}
	reversed := func(s []string) []string {
		s = slices.Clone(s)
		slices.Reverse(s)
		return s
	}
	for _, tc := range []struct {
		name string
		sort []string
		want []string
	}{
		{"ascending", []string{"v"}, slices.Concat(numbers, strs, bools, composite, absent)},
		{"descending", []string{"-v"}, slices.Concat(composite, reversed(bools), reversed(strs), numbersDown, absent)},
		{"ties to the next field", []string{"v", "-name"}, slices.Concat(
			[]string{"minus one", "zero", "two.zero", "two", "two.five", "ten"}, strs, bools,
			[]string{"object", "empty array", "array"}, []string{"null", "missing"})},
		{"descending ties to the next field", []string{"-v", "name"}, slices.Concat(
			[]string{"array", "empty array", "object"}, reversed(bools), reversed(strs), numbersDown, []string{"missing", "null"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Sort: tc.sort})
			is.NoErr(err)
			is.Equal(names(t, res), tc.want)
			// page by page, the same order
			var paged []string
			for off := 0; off < len(tc.want); off += 4 {
				res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Sort: tc.sort, Limit: 4, Offset: off, NoTotal: true})
				is.NoErr(err)
				paged = append(paged, names(t, res)...)
			}
			is.Equal(paged, tc.want)
		})
	}
}
