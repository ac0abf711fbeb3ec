package dbservice

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite" // also registers the pure-Go "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/roseybot/rosey/database"
)

// Store is the storage behind the service: documents, id sequences and
// schemas in SQL through bun. It is safe for concurrent use; the Service
// is a thin NATS layer over it.
type Store struct {
	cfg Config
	log *slog.Logger
	pg  bool
	// w takes every write. On SQLite it has a single connection, so write
	// transactions are serialised in-process instead of failing with
	// SQLITE_BUSY; r is a pool of read-only connections that WAL lets run
	// beside the writer. On PostgreSQL both are the same pool.
	w, r *bun.DB
	// queue feeds the writer goroutine, which takes every write and
	// commits them in batches (see writer.go); writerDone closes when it
	// has stopped.
	queue      writeQueue
	writerDone chan struct{}
	finished   chan []*write // batches done, to answer
	commits    atomic.Int64  // transactions of writes committed
	committed  atomic.Int64  // writes they held
	pending    atomic.Int64  // writes submitted and not finished
	// sql holds the writer's frequent statements, and prepared the same
	// prepared (see wtx), by query; Close closes them.
	sql      writeSQL
	prepared map[string]*sql.Stmt
	// reads holds the prepared statements of reads (see readCache);
	// getSQL is the text of Get's, the hottest.
	reads  readCache
	getSQL string
	// closed is set when Close begins: a read failing after it fails
	// because of it.
	closed atomic.Bool
	// warm opens the first reader connection beside the rest of start-up
	// (opening one costs a file open and a schema read); Close waits for it.
	warm sync.WaitGroup

	schemaMu sync.RWMutex
	schemas  map[string]*compiledSchema
}

// Open opens (creating if needed) the database cfg names and brings its
// tables up to date with the service's migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Store{cfg: cfg, log: cfg.Logger, schemas: map[string]*compiledSchema{}}
	var err error
	if cfg.URL != "" {
		err = s.openPostgres(ctx)
	} else {
		err = s.openSQLite(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.getSQL = s.rebind(`SELECT data FROM rosey_documents WHERE collection = ? AND id = ?`)
	if err := migrateUp(ctx, s.w, s.pg); err != nil {
		s.Close()
		return nil, fmt.Errorf("dbservice: migrate: %w", err)
	}
	if err := s.prepareWrites(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startWriter()
	for from, to := range cfg.Moves {
		if _, err := s.MoveCollection(ctx, from, to); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.loadSchemas(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// MoveCollection moves every document of collection from (and its id
// sequence and schema) to collection to, both written as stored names
// ("name" or "namespace/name"), in one transaction. It moves nothing, and
// reports 0, when from is empty or to already has documents: data is never
// merged or overwritten. Moved documents keep their ids and timestamps.
func (s *Store) MoveCollection(ctx context.Context, from, to string) (int64, error) {
	if err := checkCollection(from); err != nil {
		return 0, err
	}
	if err := checkCollection(to); err != nil {
		return 0, err
	}
	if from == to {
		return 0, invalid("move: %q onto itself", from)
	}
	var moved int64
	w := &write{op: "move " + from + " to " + to}
	w.apply = func(ctx context.Context, tx *wtx) error {
		moved = 0
		var taken int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM rosey_documents WHERE collection = ?`, []any{to}, &taken); err != nil {
			return err
		}
		if taken > 0 {
			return nil
		}
		res, err := tx.exec(ctx, `UPDATE rosey_documents SET collection = ? WHERE collection = ?`, to, from)
		if err != nil {
			return err
		}
		if moved, err = res.RowsAffected(); err != nil || moved == 0 {
			return err
		}
		for _, table := range []string{"rosey_sequences", "rosey_schemas"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE collection = ?`, to); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE `+table+` SET collection = ? WHERE collection = ?`, to, from); err != nil {
				return err
			}
		}
		return nil
	}
	w.after = func() {
		if moved == 0 {
			return
		}
		s.schemaMu.Lock()
		if cs, ok := s.schemas[from]; ok {
			s.schemas[to] = cs
			delete(s.schemas, from)
		} else {
			delete(s.schemas, to)
		}
		s.schemaMu.Unlock()
	}
	if err := s.do(ctx, w); err != nil {
		return 0, err
	}
	if moved > 0 {
		s.log.Info("collection moved", "from", from, "to", to, "documents", moved)
	}
	return moved, nil
}

func (s *Store) openSQLite(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("dbservice: dir: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(s.cfg.Dir, FileName))
	if err != nil {
		return fmt.Errorf("dbservice: dir: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(s.cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+strings.ToUpper(s.cfg.Synchronous)+")")
	q.Add("_pragma", "foreign_keys(1)")
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never has to
	// upgrade a read lock (which fails at once, busy timeout or not) when
	// another process writes the same file.
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}).String()

	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("dbservice: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)
	if err := pingSQLite(ctx, wdb, s.cfg.BusyTimeout); err != nil {
		wdb.Close()
		return fmt.Errorf("dbservice: open %s: %w", path, err)
	}
	q.Add("_pragma", "query_only(1)")
	rdb, err := sql.Open("sqlite", (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		wdb.Close()
		return fmt.Errorf("dbservice: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	if s.cfg.ReaderIdle > 0 {
		rdb.SetConnMaxIdleTime(s.cfg.ReaderIdle)
	}
	s.w = bun.NewDB(wdb, sqlitedialect.New())
	s.r = bun.NewDB(rdb, sqlitedialect.New())
	s.warm.Go(func() { _ = rdb.PingContext(context.WithoutCancel(ctx)) })
	return nil
}

// pingSQLite opens db's first connection, trying again for up to wait
// while the file is busy. Processes starting at once on a new file each
// switch it to WAL; SQLite answers some of them SQLITE_BUSY at once,
// without its busy handler (waiting could deadlock on the locks they
// hold), so the busy timeout alone does not cover it.
func pingSQLite(ctx context.Context, db *sql.DB, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func (s *Store) openPostgres(ctx context.Context) error {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(s.cfg.URL)))
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(16)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return fmt.Errorf("dbservice: connect to postgres: %w: %w", database.ErrUnavailable, err)
	}
	s.pg = true
	s.w = bun.NewDB(sqldb, pgdialect.New())
	s.r = s.w
	return nil
}

// DB returns the bun handle that takes writes, for tools and benchmarks.
func (s *Store) DB() *bun.DB { return s.w }

// Readers returns the statistics of the connections reads use: on SQLite
// the read-only pool beside the writer, on PostgreSQL the one pool.
func (s *Store) Readers() sql.DBStats { return s.r.DB.Stats() }

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// Close closes the database. SQLite folds its WAL back into the main file
// by itself when the last connection closes.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.warm.Wait()
	if s.writerDone != nil {
		// Writes already queued are still committed and answered.
		s.queue.close()
		<-s.writerDone
	}
	for _, st := range s.prepared {
		_ = st.Close()
	}
	var errs []error
	s.closeReadStatements()
	if !s.pg {
		if err := s.r.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.w.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dbservice: close: %w", err)
	}
	return nil
}

// rebind turns the ? placeholders of q into PostgreSQL's $n. Queries here
// never contain a literal ? (and never use jsonb's ? operators).
func (s *Store) rebind(q string) string {
	if !s.pg {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func now() int64 { return time.Now().UnixMicro() }

// readFailure is the error of a read that failed with err: unavailable
// once the store is closing (what a request still running when Stop gave
// up waiting meets), internal otherwise.
func (s *Store) readFailure(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: %s: the database is closed", database.ErrUnavailable, op)
	}
	return internal(op, err)
}
