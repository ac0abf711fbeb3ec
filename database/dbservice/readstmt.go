package dbservice

import (
	"context"
	"database/sql"
)

// maxReadStmts bounds the prepared read statements kept. A statement's
// text depends only on the shape of a request (which operators, how many
// $in values, how many sort fields: names and values are bound
// parameters), so a bot's plugins use a few dozen; a client inventing
// shapes gets the rest unprepared instead of growing the cache.
const maxReadStmts = 64

// readStatement returns query prepared on the reader pool, preparing it on
// first use, or nil once the cache is full or the store is closed (the
// caller then runs the text as it is). Preparing once spares SQLite's
// parser, which took about half of the CPU of a one-document page.
func (s *Store) readStatement(ctx context.Context, query string) *sql.Stmt {
	s.readMu.Lock()
	st, ok := s.readStmts[query]
	full := s.readClosed || len(s.readStmts) >= maxReadStmts
	s.readMu.Unlock()
	if ok {
		return st
	}
	if full {
		s.readUnprepared.Add(1)
		return nil
	}
	st, err := s.r.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared query reports it (a canceled request too)
	}
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if prev, ok := s.readStmts[query]; ok || s.readClosed || len(s.readStmts) >= maxReadStmts {
		_ = st.Close()
		return prev // nil when closed or full
	}
	if s.readStmts == nil {
		s.readStmts = map[string]*sql.Stmt{}
	}
	s.readStmts[query] = st
	s.readPrepared.Add(1)
	return st
}

// ReadStatementStats are the counters of the prepared read statements.
type ReadStatementStats struct {
	// Cached is how many are kept now.
	Cached int
	// Prepared is how many were prepared since the store opened.
	Prepared int64
	// Evicted is how many were closed to make room for another.
	Evicted int64
	// Unprepared is how many reads ran as plain text, without a statement.
	Unprepared int64
}

// ReadStatements returns the counters of the prepared read statements.
func (s *Store) ReadStatements() ReadStatementStats {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	return ReadStatementStats{Cached: len(s.readStmts), Prepared: s.readPrepared.Load(), Unprepared: s.readUnprepared.Load()}
}

// readQuery runs a read through its prepared statement when it has one.
func (s *Store) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.readStatement(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.DB.QueryContext(ctx, query, args...)
}

// readQueryRow is readQuery for one row.
func (s *Store) readQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.readStatement(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.DB.QueryRowContext(ctx, query, args...)
}

// closeReadStatements closes the cached statements; none is cached after.
func (s *Store) closeReadStatements() {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.readClosed = true
	for _, st := range s.readStmts {
		_ = st.Close()
	}
	s.readStmts = nil
}
