package dbservice

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the prepared read statements kept. A statement's
// text depends only on the shape of a request (which operators, how many
// $in values, how many sort fields: names and values are bound
// parameters), so a bot's plugins use a few dozen; beyond the bound the
// least recently used one is closed, so a client inventing shapes costs
// preparing, never memory (database/sql prepares a statement on each
// connection that runs it: up to 8 readers on SQLite, 16 on PostgreSQL).
const maxReadStmts = 64

// readStmt is one prepared read statement of the cache.
type readStmt struct {
	query string
	st    *sql.Stmt
	elem  *list.Element // in readCache.lru
	users int           // reads between acquire and release
	gone  bool          // out of the cache: closed by its last user
}

// readCache holds the prepared statements of reads, by text, the most
// recently used first. Preparing once spares SQLite's parser, which took
// about half of the CPU of a one-document page.
type readCache struct {
	mu     sync.Mutex
	byText map[string]*readStmt
	lru    list.List
	closed bool
	stats  ReadStatementStats
}

// ReadStatementStats are the counters of the prepared read statements.
type ReadStatementStats struct {
	// Cached is how many are kept now (at most 64).
	Cached int
	// Prepared is how many were prepared since the store opened.
	Prepared int64
	// Evicted is how many were closed to make room for another, or because
	// the database refused them (PostgreSQL, after a migration changed what
	// they return).
	Evicted int64
	// Unprepared is how many reads ran as plain text, without a statement
	// (preparing failed, or the store was closing).
	Unprepared int64
}

// ReadStatements returns the counters of the prepared read statements.
func (s *Store) ReadStatements() ReadStatementStats {
	c := &s.reads
	c.mu.Lock()
	defer c.mu.Unlock()
	rs := c.stats
	rs.Cached = len(c.byText)
	return rs
}

// acquireRead returns query prepared on the reader pool, preparing it on
// first use, or nil when it cannot be (the caller then runs the text as
// it is). The caller must releaseRead it once the statement has been
// run: an evicted statement is closed only after its last user is done
// (and rows still open keep it alive until they are closed).
func (s *Store) acquireRead(ctx context.Context, query string) *readStmt {
	c := &s.reads
	c.mu.Lock()
	if e, ok := c.byText[query]; ok {
		c.lru.MoveToFront(e.elem)
		e.users++
		c.mu.Unlock()
		return e
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return s.unprepared()
	}
	st, err := s.r.DB.PrepareContext(ctx, query)
	if err != nil {
		return s.unprepared() // the unprepared query reports it (a canceled request too)
	}
	c.mu.Lock()
	if c.closed {
		c.stats.Unprepared++
		c.mu.Unlock()
		_ = st.Close()
		return nil
	}
	if e, ok := c.byText[query]; ok { // prepared meanwhile by another read
		c.lru.MoveToFront(e.elem)
		e.users++
		c.mu.Unlock()
		_ = st.Close()
		return e
	}
	if c.byText == nil {
		c.byText = map[string]*readStmt{}
	}
	e := &readStmt{query: query, st: st, users: 1}
	e.elem = c.lru.PushFront(e)
	c.byText[query] = e
	c.stats.Prepared++
	var idle []*sql.Stmt
	for len(c.byText) > maxReadStmts {
		if old := c.lru.Back().Value.(*readStmt); c.removeLocked(old) {
			idle = append(idle, old.st)
		}
		c.stats.Evicted++
	}
	c.mu.Unlock()
	for _, st := range idle {
		_ = st.Close()
	}
	return e
}

// unprepared counts a read run without a statement; it returns nil.
func (s *Store) unprepared() *readStmt {
	s.reads.mu.Lock()
	s.reads.stats.Unprepared++
	s.reads.mu.Unlock()
	return nil
}

// removeLocked takes e out of the cache and reports whether it is unused,
// to be closed by the caller; otherwise its last user closes it.
func (c *readCache) removeLocked(e *readStmt) bool {
	c.lru.Remove(e.elem)
	delete(c.byText, e.query)
	e.gone = true
	return e.users == 0
}

// releaseRead ends a use of e, closing it if it left the cache meanwhile.
func (s *Store) releaseRead(e *readStmt) {
	c := &s.reads
	c.mu.Lock()
	e.users--
	last := e.gone && e.users == 0
	c.mu.Unlock()
	if last {
		_ = e.st.Close()
	}
}

// dropRead takes e out of the cache, if it is still there, and closes it
// once unused.
func (s *Store) dropRead(e *readStmt) {
	c := &s.reads
	c.mu.Lock()
	idle := false
	if !e.gone {
		idle = c.removeLocked(e)
		c.stats.Evicted++
	}
	c.mu.Unlock()
	if idle {
		_ = e.st.Close()
	}
}

// readQuery runs a read through its prepared statement when it has one.
// A statement PostgreSQL refuses because a migration changed what it
// returns (another instance upgraded first) is dropped, and the read tried
// once more on a statement prepared again.
func (s *Store) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	for retried := false; ; retried = true {
		e := s.acquireRead(ctx, query)
		if e == nil {
			return s.r.DB.QueryContext(ctx, query, args...)
		}
		rows, err := e.st.QueryContext(ctx, args...)
		s.releaseRead(e)
		if err == nil || retried || !stalePlan(err) {
			return rows, err
		}
		s.dropRead(e)
		s.log.Info("read statement prepared again: the tables changed under it", "err", err)
	}
}

// readRow runs a read of one row into dest; it returns sql.ErrNoRows when
// there is none.
func (s *Store) readRow(ctx context.Context, query string, args []any, dest ...any) error {
	rows, err := s.readQuery(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// closeReadStatements closes the cached statements (those in use once
// their reads are done); none is cached after.
func (s *Store) closeReadStatements() {
	c := &s.reads
	c.mu.Lock()
	c.closed = true
	var idle []*sql.Stmt
	for _, e := range c.byText {
		if c.removeLocked(e) {
			idle = append(idle, e.st)
		}
	}
	c.mu.Unlock()
	for _, st := range idle {
		_ = st.Close()
	}
}
