package dbservice_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
	"github.com/roseybot/rosey/internal/interleave"
)

// docRow maps rosey_documents for the direct baseline through bun.
type docRow struct {
	bun.BaseModel `bun:"table:rosey_documents"`
	Collection    string          `bun:"collection"`
	ID            string          `bun:"id"`
	IntID         *int64          `bun:"int_id"`
	Data          json.RawMessage `bun:"data,type:jsonb"`
	CreatedAt     int64           `bun:"created_at"`
	UpdatedAt     int64           `bun:"updated_at"`
}

var benchDoc = map[string]any{"text": "Never gonna give you up", "user": "alice", "score": 42, "tags": []string{"music", "classic"}}

func benchEnv(b *testing.B) *dbtest.Env {
	b.Helper()
	return dbtest.Start(b, dbservice.Config{Dir: b.TempDir()})
}

func directSet(ctx context.Context, db *bun.DB, coll, id string, data []byte) error {
	ts := time.Now().UnixMicro()
	_, err := db.NewInsert().Model(&docRow{Collection: coll, ID: id, Data: data, CreatedAt: ts, UpdatedAt: ts}).
		On("CONFLICT (collection, id) DO UPDATE").
		Set("data = EXCLUDED.data, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	return err
}

func directGet(ctx context.Context, db *bun.DB, coll, id string) (json.RawMessage, error) {
	var row docRow
	err := db.NewSelect().Model(&row).Column("data").Where("collection = ? AND id = ?", coll, id).Scan(ctx)
	return row.Data, err
}

// reportRatio reports via's time over direct's as x_direct, both measured
// in alternating slices so that a noisy stretch of the machine hits both
// alike.
func reportRatio(b *testing.B, via, direct func(i int) error) {
	b.Helper()
	r, err := interleave.Ratio(max(b.N, 1000), via, direct)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r, "x_direct")
}

// BenchmarkSetViaNATS measures a set over NATS (client, embedded server,
// service, SQLite) and reports x_direct: its time over that of the same
// upsert straight through bun on the same database, measured in the run.
func BenchmarkSetViaNATS(b *testing.B) {
	env := benchEnv(b)
	ctx := context.Background()
	data, _ := json.Marshal(benchDoc)
	db := env.Service.Store().DB()
	via := func(i int) error {
		_, err := env.Client.Set(ctx, "bench", database.StringID(strconv.Itoa(i%1000)), json.RawMessage(data))
		return err
	}
	direct := func(i int) error { return directSet(ctx, db, "bench", strconv.Itoa(i%1000), data) }
	var i int
	for b.Loop() {
		i++
		if err := via(i); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, via, direct)
}

// BenchmarkSetDirect is the baseline of BenchmarkSetViaNATS on its own.
func BenchmarkSetDirect(b *testing.B) {
	env := benchEnv(b)
	ctx := context.Background()
	data, _ := json.Marshal(benchDoc)
	db := env.Service.Store().DB()
	var i int
	for b.Loop() {
		i++
		if err := directSet(ctx, db, "bench", strconv.Itoa(i%1000), data); err != nil {
			b.Fatal(err)
		}
	}
}

func seedBench(b *testing.B, env *dbtest.Env) {
	b.Helper()
	data, _ := json.Marshal(benchDoc)
	for i := range 1000 {
		if _, err := env.Client.Set(context.Background(), "bench", database.StringID(strconv.Itoa(i)), json.RawMessage(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetViaNATS measures a get over NATS and reports x_direct
// against the same select straight through bun.
func BenchmarkGetViaNATS(b *testing.B) {
	env := benchEnv(b)
	ctx := context.Background()
	seedBench(b, env)
	db := env.Service.Store().DB()
	var out json.RawMessage
	via := func(i int) error {
		return env.Client.Get(ctx, "bench", database.StringID(strconv.Itoa(i%1000)), &out)
	}
	direct := func(i int) error {
		_, err := directGet(ctx, db, "bench", strconv.Itoa(i%1000))
		return err
	}
	var i int
	for b.Loop() {
		i++
		if err := via(i); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, via, direct)
}

// BenchmarkGetDirect is the baseline of BenchmarkGetViaNATS on its own.
func BenchmarkGetDirect(b *testing.B) {
	env := benchEnv(b)
	ctx := context.Background()
	seedBench(b, env)
	db := env.Service.Store().DB()
	var i int
	for b.Loop() {
		i++
		if _, err := directGet(ctx, db, "bench", strconv.Itoa(i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}
