package dbservice

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/roseybot/rosey/database"
)

// Group commit. Every write (set, update, delete, schema registration,
// collection move) goes to one writer goroutine through a queue. The writer
// opens a transaction, applies the queued writes in their order, takes
// whatever arrived meanwhile, and commits when the queue is empty (or the
// batch holds maxBatch writes); only then is each write of the batch
// acknowledged. A lone write is committed at once: batching comes only from
// writes that arrive while the writer is busy, never from waiting.
//
// A write that fails fails alone. Failures of two kinds:
//   - A refusal decided in Go (not found, $inc on a string, a schema
//     violation): the op checks before it writes anything, so the
//     transaction is untouched and the batch goes on.
//   - An error from the database: the batch's transaction is rolled back,
//     the write that met it is answered with its error, and the batch is
//     applied again without it. Savepoints around every write would avoid
//     the redo but cost two statements per write on every batch; and the
//     redo is correct on both backends without knowing their rules:
//     PostgreSQL refuses every statement after an error until the
//     transaction (or a savepoint) is rolled back, while SQLite leaves the
//     transaction open after most errors but rolls it back by itself after
//     some (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_NOMEM). Errors
//     are rare (input is checked before it reaches SQL); after maxBlamed
//     of them in a batch its other writes are committed one by one, so
//     bad writes cannot make a batch cost the square of its size.
//
// On PostgreSQL, where several service instances may write at once, a
// deadlock or serialization failure between two batches is nobody's fault:
// the batch is applied again as a whole, up to transientRetries times,
// before the write that met it is blamed.

const (
	// maxBatch bounds the writes of one transaction, and so the wait of the
	// first one and the redo a failing write causes.
	maxBatch = 512
	// maxQueue bounds the writes waiting for the writer; beyond it,
	// submitters (the NATS endpoints) wait, and NATS buffers the rest.
	maxQueue = 8192
	// maxBlamed is how many writes of a batch may fail with a database
	// error before the rest are committed one by one.
	maxBlamed = 2
	// transientRetries is how often a batch is applied again after a
	// PostgreSQL deadlock or serialization failure.
	transientRetries = 3
)

// write is one write waiting for, or in, a batch.
type write struct {
	op string // for errors: "set", "update", ...
	// apply runs the write in the batch's transaction and stores its reply
	// data in result. It must return a refusal (an error whose code is
	// neither internal nor unavailable) only before it has written
	// anything; any other error means the transaction must be rolled back.
	apply func(ctx context.Context, tx *wtx) error
	// after, if set, runs once the transaction holding the write has
	// committed, before the write is acknowledged (it updates caches).
	after  func()
	result any
	err    error
	// finish is called once with err and result final.
	finish func()
}

// refused reports whether err is a refusal that left the transaction
// untouched (see write.apply).
func refused(err error) bool {
	c := database.CodeOf(err)
	return c != database.CodeInternal && c != database.CodeUnavailable
}

// WriteStats are the writer's counters.
type WriteStats struct {
	// Commits is how many transactions of writes have committed since the
	// store opened.
	Commits int64
	// Writes is how many writes they held (refused ones included).
	Writes int64
	// Pending is how many writes were taken and are not answered yet:
	// queued, or in the transaction being applied or committed.
	Pending int64
}

// WriteStats returns the writer's counters: Writes over Commits is the
// mean batch size.
func (s *Store) WriteStats() WriteStats {
	return WriteStats{Commits: s.commits.Load(), Writes: s.committed.Load(), Pending: s.pending.Load()}
}

// writeQueue is the queue of writes waiting for the writer.
type writeQueue struct {
	mu     sync.Mutex
	space  sync.Cond // signalled when the writer takes writes
	items  []*write
	closed bool
	wake   chan struct{} // one token: there is something to take
}

func (q *writeQueue) init() {
	q.space.L = &q.mu
	q.wake = make(chan struct{}, 1)
}

// put queues w; it reports false when the store is closed.
func (q *writeQueue) put(w *write) bool {
	q.mu.Lock()
	for len(q.items) >= maxQueue && !q.closed {
		q.space.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, w)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take appends up to n queued writes to dst.
func (q *writeQueue) take(dst []*write, n int) []*write {
	q.mu.Lock()
	k := min(n, len(q.items))
	if k > 0 {
		dst = append(dst, q.items[:k]...)
		rest := copy(q.items, q.items[k:])
		clear(q.items[rest:])
		q.items = q.items[:rest]
		q.space.Broadcast()
	}
	q.mu.Unlock()
	return dst
}

func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.space.Broadcast()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// isClosed reports whether close was called.
func (q *writeQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// startWriter starts the writer goroutine and its replier; Close stops
// them.
func (s *Store) startWriter() {
	s.queue.init()
	s.writerDone = make(chan struct{})
	s.finished = make(chan []*write, 16)
	go s.writeLoop()
	go s.replyLoop()
}

// replyLoop answers the writes of each finished batch, so that the writer
// is already applying the next batch while the answers go out.
func (s *Store) replyLoop() {
	defer close(s.writerDone)
	for batch := range s.finished {
		for _, w := range batch {
			w.finish()
		}
	}
}

// writeLoop is the writer: one batch at a time until the queue is closed
// and empty.
func (s *Store) writeLoop() {
	defer close(s.finished)
	ctx := context.Background()
	var batch []*write
	for {
		batch = s.queue.take(batch[:0], maxBatch)
		if len(batch) == 0 {
			if s.queue.isClosed() {
				return
			}
			<-s.queue.wake
			continue
		}
		batch = s.runBatch(ctx, batch, true)
		clear(batch)
	}
}

// submit hands w to the writer; finish is called when it is done (with
// w.err set to ErrUnavailable if the store is closed).
func (s *Store) submit(w *write, finish func()) {
	w.finish = func() {
		s.pending.Add(-1)
		finish()
	}
	s.pending.Add(1)
	if !s.queue.put(w) {
		w.err = fmt.Errorf("%w: the database is closed", database.ErrUnavailable)
		w.finish()
	}
}

// do runs w through the writer and waits for its outcome. When ctx ends
// first the write may still be committed later; the error says so.
func (s *Store) do(ctx context.Context, w *write) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", database.ErrUnavailable, err)
	}
	done := make(chan struct{})
	s.submit(w, func() { close(done) })
	select {
	case <-done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w (the write may still be committed)", database.ErrUnavailable, ctx.Err())
	}
}

// runBatch applies the writes of batch, and with grow those that arrive
// while it does, in one transaction, commits, and finishes each. It
// returns the batch's slice, for its room.
func (s *Store) runBatch(ctx context.Context, batch []*write, grow bool) []*write {
	retries, blamed, reprepared := 0, 0, false
	for len(batch) > 0 {
		if blamed == maxBlamed {
			// Many writes the database refuses (a sick database, or a
			// client that found a way): each of the rest in a transaction
			// of its own, so redoing the batch does not cost the square.
			for _, w := range batch {
				s.runBatch(ctx, []*write{w}, false)
			}
			return batch
		}
		var bad int
		var err error
		batch, bad, err = s.tryBatch(ctx, batch, grow)
		switch {
		case err == nil:
			// committed
			s.commits.Add(1)
			s.committed.Add(int64(len(batch)))
			for _, w := range batch {
				if w.err == nil && w.after != nil {
					w.after()
				}
			}
			s.finishAll(batch)
			return batch
		case bad < 0:
			// BEGIN or COMMIT failed: no write is to blame, none is stored.
			for _, w := range batch {
				w.err, w.result = failure(w.op, err), nil
			}
			s.finishAll(batch)
			return batch
		case stalePlan(err) && !reprepared:
			// The batch is applied again on statements prepared again; a
			// write still refused after that is to blame.
			reprepared = true
			s.log.Info("write statements prepared again: the tables changed under them", "err", err)
			if perr := s.prepareWrites(ctx); perr != nil {
				s.log.Warn("write statements not prepared again", "err", perr)
			}
		case transient(err) && retries < transientRetries:
			retries++
			s.log.Debug("write batch retried", "writes", len(batch), "err", err)
		default:
			blamed++
			w := batch[bad]
			w.err, w.result = failure(w.op, err), nil
			s.finished <- []*write{w}
			batch = slices.Delete(batch, bad, bad+1)
		}
		for _, w := range batch {
			w.err, w.result = nil, nil
		}
	}
	return batch
}

// tryBatch applies batch in one transaction, with grow growing it with
// writes queued meanwhile (the returned slice), and commits. A database error from the
// write at index bad rolls everything back; bad is -1 when the error is
// not a write's (BEGIN, COMMIT).
func (s *Store) tryBatch(ctx context.Context, batch []*write, grow bool) ([]*write, int, error) {
	sqltx, err := s.w.DB.BeginTx(ctx, nil)
	if err != nil {
		return batch, -1, err
	}
	tx := &wtx{Tx: sqltx, s: s}
	for i := 0; ; i++ {
		if grow && i == len(batch) && len(batch) < maxBatch {
			batch = s.queue.take(batch, maxBatch-len(batch))
			if i == len(batch) {
				// Let the goroutines with writes in hand queue them before
				// the commit, rather than wait for the next one.
				runtime.Gosched()
				batch = s.queue.take(batch, maxBatch-len(batch))
			}
		}
		if i == len(batch) {
			break
		}
		w := batch[i]
		if err := s.apply(ctx, tx, w); err != nil {
			if refused(err) {
				w.err, w.result = err, nil
				continue
			}
			_ = tx.Rollback()
			return batch, i, err
		}
	}
	if err := tx.Commit(); err != nil {
		return batch, -1, err
	}
	return batch, 0, nil
}

// apply runs w.apply; a panic in it becomes the write's error (and rolls
// the batch back) instead of ending the process.
func (s *Store) apply(ctx context.Context, tx *wtx, w *write) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("write panicked", "op", w.op, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in %s: %v", w.op, r)
		}
	}()
	return w.apply(ctx, tx)
}

// failure is the error a write is answered with after a database error.
func failure(op string, err error) error {
	if errors.Is(err, database.ErrInternal) || errors.Is(err, database.ErrUnavailable) {
		return err // already says which
	}
	return internal(op, err)
}

// finishAll hands the writes of batch, done, to the replier.
func (s *Store) finishAll(batch []*write) {
	s.finished <- slices.Clone(batch)
}

// stalePlan reports PostgreSQL's refusal of a prepared statement whose
// result columns changed since it was prepared: a migration run by
// another service instance (a rolling upgrade) altered a table under it.
// Preparing the statement again cures it.
func stalePlan(err error) bool {
	var pe pgdriver.Error
	return errors.As(err, &pe) && pe.Field('C') == "0A000" &&
		strings.Contains(pe.Field('M'), "cached plan must not change result type")
}

// transient reports a PostgreSQL error that says to try again: a deadlock
// or a serialization failure.
func transient(err error) bool {
	var pe pgdriver.Error
	if !errors.As(err, &pe) {
		return false
	}
	code := pe.Field('C')
	return code == "40P01" || code == "40001"
}

// wtx is the writer's transaction. Statements go to database/sql directly,
// not through bun's query formatter, so every value is a parameter bound
// by the driver and never part of the SQL text. They are prepared once per
// store and reused by every batch: the writer runs the same few
// statements all day, and SQLite's parser is a good part of a small
// write's cost.
type wtx struct {
	*sql.Tx
	s     *Store
	stmts map[string]*sql.Stmt // this transaction's handles, by query
}

// writeSQL holds the writer's frequent statements, written with ?
// placeholders.
type writeSQL struct {
	nextSeq, insertDoc, upsertDoc, bumpSeq, deleteDoc, selectDoc, updateDoc, deleteSchema, upsertSchema string
}

func (s *Store) writeSQL() writeSQL {
	jsonParam, greatest, lock := "?", "max", ""
	if s.pg {
		jsonParam, greatest, lock = "CAST(? AS jsonb)", "GREATEST", " FOR UPDATE"
	}
	return writeSQL{
		// No row when the sequence is at the largest integer: adding one
		// would overflow (SQLite turns the sum into a float, PostgreSQL
		// fails).
		nextSeq: `INSERT INTO rosey_sequences (collection, value) VALUES (?, 1)
			ON CONFLICT (collection) DO UPDATE SET value = rosey_sequences.value + 1
			WHERE rosey_sequences.value < 9223372036854775807 RETURNING value`,
		insertDoc: `INSERT INTO rosey_documents (collection, id, int_id, data, created_at, updated_at)
			VALUES (?, ?, ?, ` + jsonParam + `, ?, ?) ON CONFLICT (collection, id) DO NOTHING`,
		upsertDoc: `INSERT INTO rosey_documents (collection, id, int_id, data, created_at, updated_at)
			VALUES (?, ?, ?, ` + jsonParam + `, ?, ?)
			ON CONFLICT (collection, id) DO UPDATE SET int_id = excluded.int_id, data = excluded.data, updated_at = excluded.updated_at`,
		bumpSeq: `INSERT INTO rosey_sequences (collection, value) VALUES (?, ?)
			ON CONFLICT (collection) DO UPDATE SET value = ` + greatest + `(rosey_sequences.value, excluded.value)`,
		deleteDoc: `DELETE FROM rosey_documents WHERE collection = ? AND id = ?`,
		// On PostgreSQL the row is locked against other service instances.
		selectDoc:    `SELECT data FROM rosey_documents WHERE collection = ? AND id = ?` + lock,
		updateDoc:    `UPDATE rosey_documents SET data = ` + jsonParam + `, updated_at = ? WHERE collection = ? AND id = ?`,
		deleteSchema: `DELETE FROM rosey_schemas WHERE collection = ?`,
		upsertSchema: `INSERT INTO rosey_schemas (collection, schema, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (collection) DO UPDATE SET schema = excluded.schema, updated_at = excluded.updated_at`,
	}
}

// prepareWrites prepares the writer's frequent statements, closing those
// prepared before, if any: it runs before the writer starts, or in the
// writer between two transactions. On SQLite the writer's pool has one
// connection, which a transaction holds, so nothing can be prepared on the
// pool during one.
func (s *Store) prepareWrites(ctx context.Context) error {
	s.sql = s.writeSQL()
	q := s.sql
	prepared := map[string]*sql.Stmt{}
	for _, text := range []string{q.nextSeq, q.insertDoc, q.upsertDoc, q.bumpSeq, q.deleteDoc, q.selectDoc, q.updateDoc, q.deleteSchema, q.upsertSchema} {
		st, err := s.w.DB.PrepareContext(ctx, s.rebind(text))
		if err != nil {
			for _, st := range prepared {
				_ = st.Close()
			}
			return fmt.Errorf("dbservice: prepare: %w", err)
		}
		prepared[text] = st
	}
	for _, st := range s.prepared {
		_ = st.Close()
	}
	s.prepared = prepared
	return nil
}

// stmt returns the transaction's handle on the prepared statement of q,
// or nil when q is not one of them.
func (t *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.stmts[q]; st != nil {
		return st
	}
	p := t.s.prepared[q]
	if p == nil {
		return nil
	}
	// Reuses the statement prepared on the transaction's connection, or
	// prepares it there.
	st := t.Tx.StmtContext(ctx, p)
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st
}

// exec runs the statement q with args.
func (t *wtx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, t.s.rebind(q), args...)
}

// queryRow runs the query q with args and scans its one row into dest
// (sql.ErrNoRows when there is none).
func (t *wtx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return t.Tx.QueryRowContext(ctx, t.s.rebind(q), args...).Scan(dest...)
}
