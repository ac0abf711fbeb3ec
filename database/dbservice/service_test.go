package dbservice_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// TestPrefixAndMicro checks that a configured subject prefix applies and
// that the service is visible as a NATS micro service.
func TestPrefixAndMicro(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	cfg := srv.BusConfig("bot1")
	cfg.Prefix = "bot1"
	bus, err := eventbus.Connect(ctx, cfg)
	is.NoErr(err)
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)

	info := svc.Info()
	is.Equal(info.Name, database.ServiceName)
	subjects := map[string]bool{}
	for _, e := range info.Endpoints {
		subjects[e.Subject] = true
	}
	is.True(subjects["bot1.database.set"])
	is.True(subjects["bot1.database.schema.register"])

	c := database.NewClient(bus)
	id, err := c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.NoErr(err)
	is.Equal(id, database.IntID(1))
	// nothing answers the unprefixed subject
	_, err = bus.Conn().Request("database.get", []byte(`{"collection":"q","id":1}`), 0)
	is.True(err != nil)

	// discovery through the micro PING verb
	ping, err := micro.ControlSubject(micro.PingVerb, database.ServiceName, "")
	is.NoErr(err)
	_, err = bus.Conn().Request(ping, nil, 5e9)
	is.NoErr(err)

	is.NoErr(svc.Stop(ctx))
	is.NoErr(svc.Stop(ctx)) // idempotent
	_, err = c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.True(errors.Is(err, database.ErrUnavailable))
}

func TestConfigValidate(t *testing.T) {
	is := is.New(t)
	for _, cfg := range []dbservice.Config{
		{},
		{Dir: "a", URL: "postgres://x"},
		{URL: "http://x"},
		{Dir: "a", MaxDocumentSize: -1},
		{Dir: "a", Synchronous: "off"},
	} {
		is.True(errors.Is(cfg.Validate(), dbservice.ErrInvalidConfig))
	}
	is.NoErr(dbservice.Config{Dir: "a"}.Validate())
	is.NoErr(dbservice.Config{URL: "postgresql://u:p@h/db"}.Validate())
}

// bunMigrate brings the SQLite database in dir up to date the way earlier
// releases did, with bun's migrate package, and returns how many
// migrations it applied and the DDL of the migrations table.
func bunMigrate(t *testing.T, dir string) (int, string) {
	t.Helper()
	is := is.New(t)
	ctx := context.Background()
	sqldb, err := sql.Open("sqlite", filepath.Join(dir, dbservice.FileName))
	is.NoErr(err)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()
	ms := migrate.NewMigrations()
	is.NoErr(ms.Discover(os.DirFS("migrations/sqlite")))
	m := migrate.NewMigrator(db, ms, migrate.WithTableName("rosey_migrations"),
		migrate.WithLocksTableName("rosey_migration_locks"), migrate.WithMarkAppliedOnSuccess(true))
	is.NoErr(m.Init(ctx))
	group, err := m.Migrate(ctx)
	is.NoErr(err)
	var ddl string
	is.NoErr(db.NewRaw("SELECT sql FROM sqlite_master WHERE name = 'rosey_migrations'").Scan(ctx, &ddl))
	return len(group.Migrations), ddl
}

// TestMigrationsCompatibleWithBun opens a database that bun's migrate
// package brought up to date (as earlier releases did) without running
// anything again, and hands bun a database it made with nothing left to
// run, so a database moves between releases both ways.
func TestMigrationsCompatibleWithBun(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	// An earlier release's database, opened by this one.
	all := upMigrations(t)
	old := t.TempDir()
	n, bunDDL := bunMigrate(t, old)
	is.Equal(n, all)
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: old})
	is.NoErr(err)
	var rows, groups int
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*), MAX(group_id) FROM rosey_migrations").Scan(ctx, &rows, &groups))
	is.Equal(rows, all) // nothing recorded twice
	is.Equal(groups, 1) // nor run again
	is.NoErr(st.Close())
	// This release's database, opened by an earlier one.
	fresh := t.TempDir()
	st, err = dbservice.Open(ctx, dbservice.Config{Dir: fresh})
	is.NoErr(err)
	var ddl string
	is.NoErr(st.DB().NewRaw("SELECT sql FROM sqlite_master WHERE name = 'rosey_migrations'").Scan(ctx, &ddl))
	is.Equal(ddl, bunDDL) // the same table
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*), MAX(group_id) FROM rosey_migrations").Scan(ctx, &rows, &groups))
	is.Equal(rows, all)
	is.Equal(groups, 1) // applied together, as bun numbers a run
	is.NoErr(st.Close())
	n, _ = bunMigrate(t, fresh)
	is.Equal(n, 0) // bun finds every migration applied
}

// TestUnusedReadersClose: the read connections a busy spell opened are
// closed once unused for reader_idle, and a later read opens one again.
func TestUnusedReadersClose(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: t.TempDir(), ReaderIdle: 50 * time.Millisecond})
	is.NoErr(err)
	defer st.Close()
	read := func() {
		_, err := st.Get(ctx, database.GetRequest{Collection: "quotes", ID: database.IntID(1)})
		is.True(errors.Is(err, database.ErrNotFound))
	}
	var wg sync.WaitGroup
	for range 16 { // a busy spell: several readers at once
		wg.Go(read)
	}
	wg.Wait()
	// Open now, or already closed as unused: on a loaded machine the 50 ms
	// may pass before this line.
	is.True(st.Readers().OpenConnections > 0 || st.Readers().MaxIdleTimeClosed > 0)
	deadline := time.Now().Add(30 * time.Second)
	for st.Readers().OpenConnections > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("unused readers still open: %+v", st.Readers())
		}
		time.Sleep(10 * time.Millisecond)
	}
	closed := st.Readers().MaxIdleTimeClosed
	is.True(closed > 0)
	read() // and reads go on, on a connection opened again
	is.True(st.Readers().OpenConnections == 1 || st.Readers().MaxIdleTimeClosed > closed)
}

// upMigrations counts the SQLite migrations in the source tree.
func upMigrations(t *testing.T) int {
	t.Helper()
	ups, err := filepath.Glob("migrations/sqlite/*.tx.up.sql")
	if err != nil || len(ups) < 4 {
		t.Fatalf("migrations/sqlite: %d up migrations, %v", len(ups), err)
	}
	return len(ups)
}

// TestMigrationsUpgrade opens a database that lacks later migrations and
// finds them applied.
func TestMigrationsUpgrade(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	all := upMigrations(t)
	dir := t.TempDir()
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: dir})
	is.NoErr(err)
	var n int
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM rosey_migrations").Scan(ctx, &n))
	is.Equal(n, all)
	// make it look like a database from a release that had only the first
	// (the third, which moves collections, has nothing to move here)
	for version, index := range map[string]string{
		"20250101000002": "rosey_documents_collection_seq",
		"20261202000004": "rosey_documents_collection_int_id",
	} {
		_, err = st.DB().NewRaw("DELETE FROM rosey_migrations WHERE name = ?", version).Exec(ctx)
		is.NoErr(err)
		_, err = st.DB().NewRaw("DROP INDEX " + index).Exec(ctx)
		is.NoErr(err)
	}
	is.NoErr(st.Close())
	st, err = dbservice.Open(ctx, dbservice.Config{Dir: dir})
	is.NoErr(err)
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM rosey_migrations").Scan(ctx, &n))
	is.Equal(n, all)
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('rosey_documents_collection_seq', 'rosey_documents_collection_int_id')").Scan(ctx, &n))
	is.Equal(n, 2) // upgraded
	is.NoErr(st.Close())
}

// TestConcurrentStartsMigrateOnce: service instances starting at once on
// one SQLite file (processes sharing it each have their own connections,
// as these stores do) apply each migration once: each sees the others'
// records, so none runs a migration again nor records it twice.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	all := upMigrations(t)
	for range 3 {
		dir := t.TempDir()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				<-start
				st, err := dbservice.Open(ctx, dbservice.Config{Dir: dir})
				if err != nil {
					t.Errorf("open: %v", err)
					return
				}
				if err := st.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		st, err := dbservice.Open(ctx, dbservice.Config{Dir: dir})
		is.NoErr(err)
		var rows, names int
		is.NoErr(st.DB().NewRaw("SELECT COUNT(*), COUNT(DISTINCT name) FROM rosey_migrations").Scan(ctx, &rows, &names))
		is.NoErr(st.Close())
		is.Equal(names, all)
		is.Equal(rows, all) // each applied and recorded once
	}
}

// TestClosedStoreIsUnavailable: every operation on a closed store (what
// requests still running meet when Stop gives up waiting for them) fails
// as unavailable, reads as writes, not as an internal error.
func TestClosedStoreIsUnavailable(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)
	_, err = st.Set(ctx, database.SetRequest{Collection: "c", ID: database.IntID(1), Data: []byte(`{"n":1}`)})
	is.NoErr(err)
	// each read used once, so its statement is prepared and cached
	_, err = st.Get(ctx, database.GetRequest{Collection: "c", ID: database.IntID(1)})
	is.NoErr(err)
	_, err = st.Query(ctx, database.QueryRequest{Collection: "c"})
	is.NoErr(err)
	is.NoErr(st.Close())

	_, err = st.Set(ctx, database.SetRequest{Collection: "c", Data: []byte(`{"n":2}`)})
	is.True(errors.Is(err, database.ErrUnavailable))
	_, err = st.Get(ctx, database.GetRequest{Collection: "c", ID: database.IntID(1)})
	is.True(errors.Is(err, database.ErrUnavailable))
	for _, q := range []database.QueryRequest{{Collection: "c"}, {Collection: "c", NoTotal: true}, {Collection: "c", Sort: []string{"n"}}} {
		_, err = st.Query(ctx, q)
		is.True(errors.Is(err, database.ErrUnavailable))
	}
	_, err = st.Count(ctx, database.CountRequest{Collection: "c"})
	is.True(errors.Is(err, database.ErrUnavailable))
}

// TestFailuresAreCountedInItsStatistics: the service answers failures in
// the reply body, and counts them as errors of their endpoint in its micro
// statistics (what the monitor shows by operation); "not found" is an
// answer, not a failure.
func TestFailuresAreCountedInItsStatistics(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	bus, err := eventbus.Connect(ctx, srv.BusConfig("bot"))
	is.NoErr(err)
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })

	c := database.NewClient(bus)
	_, err = c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.NoErr(err)
	var doc map[string]any
	is.True(errors.Is(c.Get(ctx, "q", database.IntID(99), &doc), database.ErrNotFound))
	is.True(errors.Is(c.Get(ctx, "Not A Collection!", database.IntID(1), &doc), database.ErrInvalidRequest))
	_, err = bus.Conn().Request(bus.Subject(database.SubjectSet), []byte(`{"collection":`), 5*time.Second)
	is.NoErr(err) // answered, with the error in the body

	byName := endpointStats(t, bus)
	is.Equal(byName["get"].NumRequests, 2)
	is.Equal(byName["get"].NumErrors, 1) // the bad collection; not the missing document
	is.True(strings.HasPrefix(byName["get"].LastError, "invalid_request:"))
	is.Equal(byName["set"].NumRequests, 2)
	is.Equal(byName["set"].NumErrors, 1)
	is.True(strings.HasPrefix(byName["set"].LastError, "malformed:"))
}
