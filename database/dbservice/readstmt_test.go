package dbservice

import (
	"context"
	"fmt"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
)

// TestReadStatementsBounded: queries of ever new shapes ($in lists of
// every length) are all answered, right, while the prepared statements
// kept stop at maxReadStmts; a shape seen before reuses its statement.
func TestReadStatementsBounded(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	st, err := Open(ctx, Config{Dir: t.TempDir()})
	is.NoErr(err)
	defer st.Close()
	for i := range 10 {
		_, err := st.Set(ctx, database.SetRequest{Collection: "c", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		is.NoErr(err)
	}
	for k := 1; k <= 2*maxReadStmts; k++ {
		in := make([]any, k)
		for j := range in {
			in[j] = j
		}
		res, err := st.Query(ctx, database.QueryRequest{Collection: "c", Filter: database.Filter{"n": database.Filter{"$in": in}}, NoTotal: true})
		is.NoErr(err)
		is.Equal(len(res.Items), min(k, 10))
		n, err := st.Count(ctx, database.CountRequest{Collection: "c", Filter: database.Filter{"n": database.Filter{"$in": in}}})
		is.NoErr(err)
		is.Equal(n.Count, int64(min(k, 10)))
	}
	st.readMu.Lock()
	kept := len(st.readStmts)
	st.readMu.Unlock()
	is.Equal(kept, maxReadStmts)
	// the first shapes were kept, and are used again
	res, err := st.Query(ctx, database.QueryRequest{Collection: "c", Filter: database.Filter{"n": database.Filter{"$in": []any{3}}}, NoTotal: true})
	is.NoErr(err)
	is.Equal(len(res.Items), 1)
	st.readMu.Lock()
	is.Equal(len(st.readStmts), kept)
	st.readMu.Unlock()
}
