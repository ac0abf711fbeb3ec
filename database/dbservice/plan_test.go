package dbservice

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
)

// TestPagesWalkAnIndex: on SQLite, a page without its total, in insertion
// order or by "-$id", is read through an index in its order and so stops
// at its limit: no scan of the collection, no sort of it. With the total,
// the window count reads every match first.
func TestPagesWalkAnIndex(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	st, err := Open(ctx, Config{Dir: t.TempDir()})
	is.NoErr(err)
	defer st.Close()
	for i := range 20 {
		_, err := st.Set(ctx, database.SetRequest{Collection: "quotes", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		is.NoErr(err)
	}
	plan := func(req database.QueryRequest) string {
		t.Helper()
		pg, err := st.pageSQL(req)
		is.NoErr(err)
		rows, err := st.r.DB.QueryContext(ctx, "EXPLAIN QUERY PLAN "+pg.sql, pg.args...)
		is.NoErr(err)
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			is.NoErr(rows.Scan(&id, &parent, &unused, &detail))
			lines = append(lines, detail)
		}
		is.NoErr(rows.Err())
		return strings.Join(lines, "\n")
	}
	for _, tc := range []struct {
		req   database.QueryRequest
		index string
	}{
		{database.QueryRequest{Collection: "quotes", Limit: 1, NoTotal: true}, "rosey_documents_collection_seq"},
		{database.QueryRequest{Collection: "quotes", Limit: 1, Offset: 5, NoTotal: true}, "rosey_documents_collection_seq"},
		{database.QueryRequest{Collection: "quotes", Sort: []string{"-$id"}, Limit: 1, NoTotal: true}, "rosey_documents_collection_int_id"},
		{database.QueryRequest{Collection: "quotes", Sort: []string{"$id"}, Limit: 1, NoTotal: true}, "rosey_documents_collection_int_id"},
	} {
		p := plan(tc.req)
		if !strings.Contains(p, "USING INDEX "+tc.index+" (collection=?)") ||
			strings.Contains(p, "SCAN rosey_documents") || strings.Contains(p, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("%+v: the page does not walk %s in its order:\n%s", tc.req, tc.index, p)
		}
	}
	// With the total, the window count reads every match into a temporary
	// tree before the first row: what the check above catches.
	if p := plan(database.QueryRequest{Collection: "quotes", Limit: 1}); !strings.Contains(p, "TEMP B-TREE FOR ORDER BY") {
		t.Errorf("the page with its total should sort every match:\n%s", p)
	}
}
