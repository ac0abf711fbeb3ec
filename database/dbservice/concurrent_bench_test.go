package dbservice_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/uptrace/bun"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// writers is how many clients write at once in the concurrent benchmarks.
const writers = 64

// concEnv is a service on SQLite or PostgreSQL plus, on the same NATS
// server, a "floor" responder: a subscription on the set subject of another
// prefix that answers every request at once with a canned success, so the
// same client path (encode, request, reply, decode) can be timed without
// the service or SQL behind it.
type concEnv struct {
	client *database.Client
	floor  *database.Client
	store  *dbservice.Store
	db     *bun.DB
	coll   string
}

func newConcEnv(b *testing.B, backend string) *concEnv {
	b.Helper()
	var cfg dbservice.Config
	switch backend {
	case "sqlite":
		cfg.Dir = b.TempDir()
	case "postgres":
		cfg.URL = os.Getenv("ROSEY_TEST_POSTGRES_URL")
		if cfg.URL == "" {
			b.Skip("ROSEY_TEST_POSTGRES_URL is not set")
		}
	}
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	bus, err := eventbus.Connect(ctx, srv.BusConfig("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop(context.Background()) })

	// The floor: one connection hosts both the client and the responder,
	// as bus does for the client and the service.
	fcfg := srv.BusConfig("floor")
	fcfg.Prefix = "floor"
	fbus, err := eventbus.Connect(ctx, fcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fbus.Close(context.Background()) })
	canned := []byte(`{"success":true,"data":{"id":"x"}}`)
	sub, err := fbus.Conn().Subscribe("floor."+database.SubjectSet, func(m *nats.Msg) { _ = m.Respond(canned) })
	if err != nil {
		b.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := fbus.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	e := &concEnv{client: database.NewClient(bus), floor: database.NewClient(fbus), store: svc.Store(), db: svc.Store().DB(), coll: dbtest.Unique("bench")}
	if backend == "postgres" {
		b.Cleanup(func() {
			for _, c := range []string{e.coll, e.coll + "_bulk", e.coll + "_one"} {
				_, _ = e.db.NewDelete().TableExpr("rosey_documents").Where("collection = ?", c).Exec(context.Background())
			}
		})
	}
	return e
}

var benchData, _ = json.Marshal(benchDoc)

// concurrentSets sets rows [from, from+n) of the collection through c
// from writers goroutines at once, each taking the next row.
func concurrentSets(c *database.Client, coll string, from, n int) error {
	var next atomic.Int64
	next.Store(int64(from))
	end := int64(from + n)
	var wg sync.WaitGroup
	var first atomic.Value
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				if _, err := c.Set(context.Background(), coll, database.StringID("r"+strconv.FormatInt(i, 10)), json.RawMessage(benchData)); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

// bulkInsert inserts rows [from, from+n) through bun in one transaction,
// one statement a row: the same upsert the service runs for a set with a
// string id, without NATS, the service or group commit around it.
func bulkInsert(db *bun.DB, coll string, from, n int) error {
	ctx := context.Background()
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := from; i < from+n; i++ {
			ts := time.Now().UnixMicro()
			_, err := tx.NewInsert().Model(&docRow{Collection: coll, ID: "r" + strconv.Itoa(i), Data: benchData, CreatedAt: ts, UpdatedAt: ts}).
				On("CONFLICT (collection, id) DO UPDATE").
				Set("data = EXCLUDED.data, updated_at = EXCLUDED.updated_at").
				Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// reportBatch reports the mean writes per commit between two WriteStats.
func reportBatch(b *testing.B, before, after dbservice.WriteStats) {
	if n := after.Commits - before.Commits; n > 0 {
		b.ReportMetric(float64(after.Writes-before.Writes)/float64(n), "rows/commit")
	}
}

var backends = []string{"sqlite", "postgres"}

// BenchmarkConcurrentSetViaNATS sets b.N new documents through NATS and
// the service from 64 writers at once: one op is one acknowledged row, so
// its ns/op compares directly with BenchmarkBulkInsertDirect's.
func BenchmarkConcurrentSetViaNATS(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newConcEnv(b, backend)
			before := e.store.WriteStats()
			b.ResetTimer()
			if err := concurrentSets(e.client, e.coll, 0, b.N); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportBatch(b, before, e.store.WriteStats())
		})
	}
}

// BenchmarkBulkInsertDirect inserts b.N new documents through bun in one
// transaction: one op is one row.
func BenchmarkBulkInsertDirect(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newConcEnv(b, backend)
			b.ResetTimer()
			if err := bulkInsert(e.db, e.coll, 0, b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConcurrentRequestFloor sends b.N set requests from 64 writers
// at once to a responder that answers at once: the cost of the NATS
// request path alone, the floor under BenchmarkConcurrentSetViaNATS.
func BenchmarkConcurrentRequestFloor(b *testing.B) {
	e := newConcEnv(b, "sqlite")
	b.ResetTimer()
	if err := concurrentSets(e.floor, e.coll, 0, b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConcurrentSetVsBulk measures the three above in alternating
// slices of b.N/10 rows each (so a noisy stretch of the shared machine hits
// all alike) and reports rows/s of each, and the concurrent sets' rows/s as
// a fraction of the bulk insert's (via/bulk) and of the floor's
// (via/floor). It also reports commit_ms, the time of a transaction of one
// row through bun: on SQLite mostly the disk's flush, which every group of
// sets waits for, so the sets' rows/s is at most rows/commit over it. ns/op
// is that of the whole, one op being one row of each.
func BenchmarkConcurrentSetVsBulk(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newConcEnv(b, backend)
			const slices = 10
			per := max(b.N/slices, 1)
			var via, bulk, floor, commit time.Duration
			const commits = 5 // per slice
			before := e.store.WriteStats()
			b.ResetTimer()
			for k := range slices {
				from := k * per
				start := time.Now()
				if err := concurrentSets(e.client, e.coll, from, per); err != nil {
					b.Fatal(err)
				}
				via += time.Since(start)
				start = time.Now()
				// Other rows than the sets', so both insert new rows.
				if err := bulkInsert(e.db, e.coll+"_bulk", from, per); err != nil {
					b.Fatal(err)
				}
				bulk += time.Since(start)
				start = time.Now()
				if err := concurrentSets(e.floor, e.coll, from, per); err != nil {
					b.Fatal(err)
				}
				floor += time.Since(start)
				start = time.Now()
				for i := range commits {
					if err := bulkInsert(e.db, e.coll+"_one", i, 1); err != nil {
						b.Fatal(err)
					}
				}
				commit += time.Since(start)
			}
			b.StopTimer()
			reportBatch(b, before, e.store.WriteStats())
			rows := float64(per * slices)
			rate := func(d time.Duration) float64 { return rows / d.Seconds() }
			b.ReportMetric(rate(via), "via_rows/s")
			b.ReportMetric(rate(bulk), "bulk_rows/s")
			b.ReportMetric(rate(floor), "floor_rows/s")
			b.ReportMetric(rate(via)/rate(bulk), "via/bulk")
			b.ReportMetric(rate(via)/rate(floor), "via/floor")
			b.ReportMetric(rate(floor)/rate(bulk), "floor/bulk")
			b.ReportMetric(commit.Seconds()*1000/(slices*commits), "commit_ms")
		})
	}
}
