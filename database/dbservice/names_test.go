package dbservice_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
)

// TestNames: which collection and field names a request may use. A name
// the store takes finds nothing in an empty store; any other is refused
// as an invalid request.
func TestNames(t *testing.T) {
	ctx := context.Background()
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a64, a65 := strings.Repeat("a", 64), strings.Repeat("a", 65)
	for _, tc := range []struct {
		collection string
		ok         bool
	}{
		{"quotes", true},
		{"Q", true},
		{"9lives", true},
		{"x_.:-y", true},
		{a64, true},
		{a65, false},
		{"", false},
		{"_x", false},
		{".x", false},
		{"a b", false},
		{"é", false},
		{"a\n", false},
		{"quote-db/quotes", true},
		{"_ns-1/quotes", true},
		{a64 + "/" + a64, true},
		{a65 + "/quotes", false},
		{"ns/" + a65, false},
		{"/quotes", false},
		{"ns/", false},
		{"a/b/c", false},
		{"n.s/quotes", false},
		{"ns/_quotes", false},
	} {
		t.Run(tc.collection, func(t *testing.T) {
			is := is.New(t)
			_, err := st.Get(ctx, database.GetRequest{Collection: tc.collection, ID: database.IntID(1)})
			if tc.ok {
				is.True(errors.Is(err, database.ErrNotFound))
			} else {
				is.True(errors.Is(err, database.ErrInvalidRequest))
			}
		})
	}
	for _, tc := range []struct {
		field string
		ok    bool
	}{
		{"score", true},
		{"_id2", true},
		{"A_b", true},
		{a64, true},
		{a65, false},
		{"2nd", false},
		{"a-b", false},
		{"a.b", false},
		{"", false},
	} {
		t.Run("field "+tc.field, func(t *testing.T) {
			is := is.New(t)
			_, err := st.Query(ctx, database.QueryRequest{Collection: "quotes", Filter: database.Filter{tc.field: 1}})
			if tc.ok {
				is.NoErr(err)
			} else {
				is.True(errors.Is(err, database.ErrInvalidRequest))
			}
		})
	}
}
