package dbservice_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
	"github.com/roseybot/rosey/internal/interleave"
)

// Collection sizes compared by BenchmarkQueryPage.
const (
	pageSmall = 1_000
	pageLarge = 50_000
)

// seedInts inserts documents with integer ids 1..n into coll straight
// through bun (through the service it would take a minute), as a quote
// collection holds them.
func seedInts(b *testing.B, db *bun.DB, coll string, n int) {
	b.Helper()
	ctx := context.Background()
	ts := time.Now().UnixMicro()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		rows := make([]docRow, 0, 1000)
		for i := 1; i <= n; i++ {
			id := int64(i)
			rows = append(rows, docRow{Collection: coll, ID: strconv.Itoa(i), IntID: &id, Data: benchData, CreatedAt: ts, UpdatedAt: ts})
			if len(rows) == cap(rows) || i == n {
				if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
					return err
				}
				rows = rows[:0]
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = db.NewRaw("DELETE FROM rosey_documents WHERE collection = ?", coll).Exec(context.Background())
	})
}

// BenchmarkQueryPage measures a one-document page over NATS in a
// collection of 50,000 documents and reports x_1k: its time over the same
// page's in a collection of 1,000 (same database), both measured in
// alternating slices. A page that stops at its limit reports about 1: with
// no_total, in insertion order or by "-$id" (the highest id, as !quote
// asks). With the total counted it grows with the collection.
func BenchmarkQueryPage(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var cfg dbservice.Config
			switch backend {
			case "sqlite":
				cfg.Dir = b.TempDir()
			case "postgres":
				if cfg.URL = os.Getenv("ROSEY_TEST_POSTGRES_URL"); cfg.URL == "" {
					b.Skip("ROSEY_TEST_POSTGRES_URL is not set")
				}
			}
			env := dbtest.Start(b, cfg)
			db := env.Service.Store().DB()
			small, large := dbtest.Unique("page_small"), dbtest.Unique("page_large")
			seedInts(b, db, small, pageSmall)
			seedInts(b, db, large, pageLarge)
			if backend == "postgres" {
				if _, err := db.NewRaw("ANALYZE rosey_documents").Exec(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			for _, tc := range []struct {
				name string
				q    database.QueryRequest
			}{
				{"limit1_no_total", database.QueryRequest{Limit: 1, NoTotal: true}},
				{"highest_id", database.QueryRequest{Sort: []string{"-" + database.SortByID}, Limit: 1, NoTotal: true}},
				{"limit10_total", database.QueryRequest{Limit: 10}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					ctx := context.Background()
					page := func(coll string) func(int) error {
						q := tc.q
						q.Collection = coll
						return func(int) error {
							res, err := env.Client.Query(ctx, q)
							if err == nil && len(res.Items) == 0 {
								b.Fatal("empty page")
							}
							return err
						}
					}
					onLarge, onSmall := page(large), page(small)
					for b.Loop() {
						if err := onLarge(0); err != nil {
							b.Fatal(err)
						}
					}
					r, err := interleave.Ratio(max(b.N, 100), onLarge, onSmall)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(r, "x_1k")
				})
			}
		})
	}
}
