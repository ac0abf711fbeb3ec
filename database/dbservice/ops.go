package dbservice

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/roseybot/rosey/database"
)

// execer is what *sql.DB and *sql.Tx share. Statements go to database/sql
// directly, not through bun's query formatter, so every value is a
// parameter bound by the driver and never part of the SQL text.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// idArgs returns the id column text and the int_id column value.
func idArgs(id database.ID) (string, any) {
	if n, ok := id.Int(); ok {
		return id.String(), n
	}
	return id.String(), nil
}

func scanID(text string, intID sql.NullInt64) database.ID {
	if intID.Valid {
		return database.IntID(intID.Int64)
	}
	return database.StringID(text)
}

// internal wraps an unexpected database error.
func internal(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %s: %w", database.ErrUnavailable, op, err)
	}
	return fmt.Errorf("%w: %s: %w", database.ErrInternal, op, err)
}

// Set stores a document, replacing any under the same id; without an id
// it assigns the next integer of the collection.
func (s *Store) Set(ctx context.Context, req database.SetRequest) (database.SetResult, error) {
	if err := checkCollection(req.Collection); err != nil {
		return database.SetResult{}, err
	}
	if !req.ID.IsZero() {
		if err := checkID(req.ID); err != nil {
			return database.SetResult{}, err
		}
	}
	data, err := s.checkDoc(req.Data)
	if err != nil {
		return database.SetResult{}, err
	}
	if err := s.validateSchema(req.Collection, data); err != nil {
		return database.SetResult{}, err
	}
	id := req.ID
	ts := now()
	switch {
	case id.IsZero():
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			// A string id made of digits may already hold the next number;
			// skip such numbers rather than overwrite.
			for range 1000 {
				var n int64
				if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO rosey_sequences (collection, value) VALUES (?, 1)
					ON CONFLICT (collection) DO UPDATE SET value = rosey_sequences.value + 1 RETURNING value`), req.Collection).Scan(&n); err != nil {
					return err
				}
				id = database.IntID(n)
				res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO rosey_documents (collection, id, int_id, data, created_at, updated_at)
					VALUES (?, ?, ?, `+s.jsonParam()+`, ?, ?) ON CONFLICT (collection, id) DO NOTHING`),
					req.Collection, id.String(), n, string(data), ts, ts)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 1 {
					return nil
				}
			}
			return fmt.Errorf("no free id")
		})
	case id.IsInt():
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if err := s.upsertDoc(ctx, tx, req.Collection, id, data, ts); err != nil {
				return err
			}
			return s.bumpSequence(ctx, tx, req.Collection, id)
		})
	default:
		err = s.upsertDoc(ctx, s.w.DB, req.Collection, id, data, ts)
	}
	if err != nil {
		return database.SetResult{}, internal("set", err)
	}
	return database.SetResult{ID: id}, nil
}

func (s *Store) jsonParam() string {
	if s.pg {
		return "CAST(? AS jsonb)"
	}
	return "?"
}

func (s *Store) upsertDoc(ctx context.Context, db execer, collection string, id database.ID, data []byte, ts int64) error {
	text, intID := idArgs(id)
	_, err := db.ExecContext(ctx, s.rebind(`INSERT INTO rosey_documents (collection, id, int_id, data, created_at, updated_at)
		VALUES (?, ?, ?, `+s.jsonParam()+`, ?, ?)
		ON CONFLICT (collection, id) DO UPDATE SET int_id = excluded.int_id, data = excluded.data, updated_at = excluded.updated_at`),
		collection, text, intID, string(data), ts, ts)
	return err
}

// bumpSequence keeps the collection's sequence at or above an integer id
// written explicitly, so assigned ids never collide with it.
func (s *Store) bumpSequence(ctx context.Context, db execer, collection string, id database.ID) error {
	n, _ := id.Int()
	if n <= 0 {
		return nil
	}
	greatest := "max"
	if s.pg {
		greatest = "GREATEST"
	}
	_, err := db.ExecContext(ctx, s.rebind(`INSERT INTO rosey_sequences (collection, value) VALUES (?, ?)
		ON CONFLICT (collection) DO UPDATE SET value = `+greatest+`(rosey_sequences.value, excluded.value)`), collection, n)
	return err
}

// Get returns the stored object.
func (s *Store) Get(ctx context.Context, req database.GetRequest) (json.RawMessage, error) {
	if err := checkCollection(req.Collection); err != nil {
		return nil, err
	}
	if err := checkID(req.ID); err != nil {
		return nil, err
	}
	var data []byte
	stmt, err := s.getStatement(ctx)
	if err != nil {
		return nil, internal("get", err)
	}
	err = stmt.QueryRowContext(ctx, req.Collection, req.ID.String()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s/%s", database.ErrNotFound, req.Collection, req.ID)
	}
	if err != nil {
		return nil, internal("get", err)
	}
	return data, nil
}

// Delete removes a document and reports whether it was there.
func (s *Store) Delete(ctx context.Context, req database.DeleteRequest) (database.DeleteResult, error) {
	if err := checkCollection(req.Collection); err != nil {
		return database.DeleteResult{}, err
	}
	if err := checkID(req.ID); err != nil {
		return database.DeleteResult{}, err
	}
	res, err := s.w.DB.ExecContext(ctx, s.rebind(`DELETE FROM rosey_documents WHERE collection = ? AND id = ?`), req.Collection, req.ID.String())
	if err != nil {
		return database.DeleteResult{}, internal("delete", err)
	}
	n, _ := res.RowsAffected()
	return database.DeleteResult{Deleted: n > 0}, nil
}
