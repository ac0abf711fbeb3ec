package dbservice

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/roseybot/rosey/database"
)

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
// it assigns the next integer of the collection. It returns once the
// transaction holding the write has committed.
func (s *Store) Set(ctx context.Context, req database.SetRequest) (database.SetResult, error) {
	w, err := s.setWrite(req)
	if err != nil {
		return database.SetResult{}, err
	}
	if err := s.do(ctx, w); err != nil {
		return database.SetResult{}, err
	}
	return w.result.(database.SetResult), nil
}

// setWrite checks a set and returns the write that stores it; its result
// is a database.SetResult.
func (s *Store) setWrite(req database.SetRequest) (*write, error) {
	if err := checkCollection(req.Collection); err != nil {
		return nil, err
	}
	if !req.ID.IsZero() {
		if err := checkID(req.ID); err != nil {
			return nil, err
		}
	}
	data, err := s.checkDoc(req.Data)
	if err != nil {
		return nil, err
	}
	if err := s.validateSchema(req.Collection, data); err != nil {
		return nil, err
	}
	w := &write{op: "set"}
	w.apply = func(ctx context.Context, tx *wtx) error {
		id := req.ID
		ts := now()
		switch {
		case id.IsZero():
			var err error
			if id, err = s.insertNext(ctx, tx, req.Collection, data, ts); err != nil {
				return err
			}
		case id.IsInt():
			if err := s.upsertDoc(ctx, tx, req.Collection, id, data, ts); err != nil {
				return err
			}
			if err := s.bumpSequence(ctx, tx, req.Collection, id); err != nil {
				return err
			}
		default:
			if err := s.upsertDoc(ctx, tx, req.Collection, id, data, ts); err != nil {
				return err
			}
		}
		w.result = database.SetResult{ID: id}
		return nil
	}
	return w, nil
}

// insertNext inserts data under the collection's next integer id and
// returns it. A string id made of digits may already hold the next number;
// such numbers are skipped rather than overwritten.
func (s *Store) insertNext(ctx context.Context, tx *wtx, collection string, data []byte, ts int64) (database.ID, error) {
	for i := range 1000 {
		var n int64
		err := tx.queryRow(ctx, s.sql.nextSeq, []any{collection}, &n)
		if errors.Is(err, sql.ErrNoRows) {
			if i > 0 {
				// Sequences were advanced: not a refusal, rolled back.
				return database.ID{}, fmt.Errorf("no integer id is left in %s", collection)
			}
			return database.ID{}, invalid("id: %s has used every integer id up to %d; set documents with an id of their own", collection, int64(math.MaxInt64))
		}
		if err != nil {
			return database.ID{}, err
		}
		id := database.IntID(n)
		res, err := tx.exec(ctx, s.sql.insertDoc, collection, id.String(), n, string(data), ts, ts)
		if err != nil {
			return database.ID{}, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			return id, nil
		}
	}
	// Sequences were advanced: not a refusal, the transaction is rolled back.
	return database.ID{}, errors.New("no free id in 1000 tries")
}

func (s *Store) upsertDoc(ctx context.Context, tx *wtx, collection string, id database.ID, data []byte, ts int64) error {
	text, intID := idArgs(id)
	_, err := tx.exec(ctx, s.sql.upsertDoc, collection, text, intID, string(data), ts, ts)
	return err
}

// bumpSequence keeps the collection's sequence at or above an integer id
// written explicitly, so assigned ids never collide with it.
func (s *Store) bumpSequence(ctx context.Context, tx *wtx, collection string, id database.ID) error {
	n, _ := id.Int()
	if n <= 0 {
		return nil
	}
	_, err := tx.exec(ctx, s.sql.bumpSeq, collection, n)
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
	err := s.readRow(ctx, s.getSQL, []any{req.Collection, req.ID.String()}, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s/%s", database.ErrNotFound, req.Collection, req.ID)
	}
	if err != nil {
		return nil, s.readFailure("get", err)
	}
	return data, nil
}

// Delete removes a document and reports whether it was there, once the
// transaction holding the delete has committed.
func (s *Store) Delete(ctx context.Context, req database.DeleteRequest) (database.DeleteResult, error) {
	w, err := s.deleteWrite(req)
	if err != nil {
		return database.DeleteResult{}, err
	}
	if err := s.do(ctx, w); err != nil {
		return database.DeleteResult{}, err
	}
	return w.result.(database.DeleteResult), nil
}

// deleteWrite checks a delete and returns its write; its result is a
// database.DeleteResult.
func (s *Store) deleteWrite(req database.DeleteRequest) (*write, error) {
	if err := checkCollection(req.Collection); err != nil {
		return nil, err
	}
	if err := checkID(req.ID); err != nil {
		return nil, err
	}
	w := &write{op: "delete"}
	w.apply = func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, s.sql.deleteDoc, req.Collection, req.ID.String())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		w.result = database.DeleteResult{Deleted: n > 0}
		return nil
	}
	return w, nil
}
