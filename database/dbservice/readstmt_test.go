package dbservice

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
)

// backends opens a store on SQLite in a temp dir and, when
// ROSEY_TEST_POSTGRES_URL is set, one on PostgreSQL; each is closed when
// the test ends.
func backends(t *testing.T) map[string]*Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]*Store{}
	cfgs := map[string]Config{"sqlite": {Dir: t.TempDir()}}
	if url := os.Getenv("ROSEY_TEST_POSTGRES_URL"); url != "" {
		cfgs["postgres"] = Config{URL: url}
	}
	for name, cfg := range cfgs {
		st, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: open: %v", name, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out[name] = st
	}
	return out
}

// uniqueCollection returns a collection name no other test (nor another
// run of this one) uses, so tests can share one PostgreSQL database.
func uniqueCollection(prefix string) string {
	return prefix + "_" + strings.ToLower(eventbus.NewCorrelationID()[10:])
}

// seedNumbers stores documents {"n": 0} to {"n": count-1} in coll.
func seedNumbers(t *testing.T, st *Store, coll string, count int) {
	t.Helper()
	for i := range count {
		if _, err := st.Set(context.Background(), database.SetRequest{Collection: coll, Data: fmt.Appendf(nil, `{"n":%d}`, i)}); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
}

// inShape runs the query of shape k (a $in of k values: each k is a
// statement text of its own) and checks its answer: the documents whose n
// is below k, of 10.
func inShape(t *testing.T, st *Store, coll string, k int) {
	t.Helper()
	in := make([]any, k)
	for j := range in {
		in[j] = j
	}
	res, err := st.Query(context.Background(), database.QueryRequest{Collection: coll, Filter: database.Filter{"n": database.Filter{"$in": in}}, NoTotal: true})
	if err != nil {
		t.Errorf("shape %d: %v", k, err)
		return
	}
	if len(res.Items) != min(k, 10) {
		t.Errorf("shape %d: %d documents, want %d", k, len(res.Items), min(k, 10))
	}
}

// TestReadStatementsLRU: a workload of more query shapes than the cache
// holds keeps every shape prepared when used: the least recently used
// statement is closed to make room, the cache stays at its bound, and
// shapes used recently are reused without preparing again.
func TestReadStatementsLRU(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			coll := uniqueCollection("lru")
			seedNumbers(t, st, coll, 10)
			stats := func() ReadStatementStats {
				rs := st.ReadStatements()
				is.True(rs.Cached <= maxReadStmts)
				is.Equal(rs.Unprepared, int64(0)) // every read ran prepared
				return rs
			}
			n := 2*maxReadStmts + 10
			for k := 1; k <= n; k++ {
				inShape(t, st, coll, k)
			}
			s1 := stats()
			is.Equal(s1.Cached, maxReadStmts)
			is.Equal(s1.Evicted, s1.Prepared-maxReadStmts)

			// The most recent shapes are kept, and reused.
			for k := n - maxReadStmts + 1; k <= n; k++ {
				inShape(t, st, coll, k)
			}
			inShape(t, st, coll, n-maxReadStmts+1) // now the most recent
			s2 := stats()
			is.Equal(s2.Prepared, s1.Prepared)
			is.Equal(s2.Evicted, s1.Evicted)

			// An old shape is prepared again, in place of the least recently
			// used one (not of the first one kept).
			inShape(t, st, coll, 1)
			s3 := stats()
			is.Equal(s3.Prepared, s2.Prepared+1)
			is.Equal(s3.Evicted, s2.Evicted+1)
			is.Equal(s3.Cached, maxReadStmts)
			inShape(t, st, coll, n-maxReadStmts+1) // still kept
			is.Equal(stats().Prepared, s3.Prepared)
			inShape(t, st, coll, n-maxReadStmts+2) // was the least recently used
			is.Equal(stats().Prepared, s3.Prepared+1)
		})
	}
}

// TestReadStatementsEvictedInUse: a statement evicted while a read holds
// it still runs (it is closed when that read is done), and readers
// running many shapes at once, so that statements are evicted while others
// use them, all get their right answers.
func TestReadStatementsEvictedInUse(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			coll := uniqueCollection("evict")
			seedNumbers(t, st, coll, 10)

			// A read takes its statement, then others evict it before it runs.
			q := st.rebind(`SELECT COUNT(*) FROM rosey_documents WHERE collection = ? AND seq > 0`)
			held := st.acquireRead(ctx, q)
			is.True(held != nil)
			for k := 1; k <= maxReadStmts; k++ {
				inShape(t, st, coll, k)
			}
			st.reads.mu.Lock()
			is.True(held.gone) // evicted
			st.reads.mu.Unlock()
			var n int64
			is.NoErr(held.st.QueryRowContext(ctx, coll).Scan(&n))
			is.Equal(n, int64(10))
			st.releaseRead(held)
			_, err := held.st.QueryContext(ctx, coll)
			is.True(err != nil) // closed by its last user

			var wg sync.WaitGroup
			shapes := maxReadStmts + maxReadStmts/2
			for g := range 4 {
				wg.Go(func() {
					for i := range shapes {
						inShape(t, st, coll, 1+(i*7+g*13)%shapes)
					}
				})
			}
			wg.Wait()
			rs := st.ReadStatements()
			is.Equal(rs.Cached, maxReadStmts)
			is.True(rs.Evicted > 0)
		})
	}
}
