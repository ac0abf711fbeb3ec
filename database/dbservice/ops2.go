package dbservice

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/roseybot/rosey/database"
)

// Query returns one page of the documents matching the filter, and the
// number of all matches unless the request says NoTotal.
func (s *Store) Query(ctx context.Context, req database.QueryRequest) (database.QueryResult, error) {
	res := database.QueryResult{Items: []database.Item{}}
	pg, err := s.pageSQL(req)
	if err != nil {
		return res, err
	}
	if req.NoTotal {
		res.Total = database.NotCounted
	}
	rows, err := s.readQuery(ctx, pg.sql, pg.args...)
	if err != nil {
		return res, s.readFailure("query", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			text     string
			intID    sql.NullInt64
			data     []byte
			cat, uat int64
		)
		dest := []any{&text, &intID, &data, &cat, &uat, &res.Total}
		if req.NoTotal {
			dest = dest[:5]
		}
		if err := rows.Scan(dest...); err != nil {
			return res, s.readFailure("query", err)
		}
		res.Items = append(res.Items, database.Item{
			ID:        scanID(text, intID),
			Data:      json.RawMessage(data),
			CreatedAt: time.UnixMicro(cat).UTC(),
			UpdatedAt: time.UnixMicro(uat).UTC(),
		})
	}
	if err := rows.Err(); err != nil {
		return res, s.readFailure("query", err)
	}
	if len(res.Items) == 0 && req.Offset > 0 && !req.NoTotal {
		// Past the end: the page is empty but the total is not.
		n, err := s.count(ctx, req.Collection, pg.where, pg.wargs)
		if err != nil {
			return res, err
		}
		res.Total = n
	}
	return res, nil
}

// page is the statement of a query's page, and the filter's conditions for
// a count.
type page struct {
	sql   string
	args  []any
	where string
	wargs []any
}

// pageSQL checks a query and writes its statement.
func (s *Store) pageSQL(req database.QueryRequest) (page, error) {
	if err := checkCollection(req.Collection); err != nil {
		return page{}, err
	}
	limit := req.Limit
	switch {
	case limit < 0:
		return page{}, invalid("limit: must not be negative")
	case limit == 0:
		limit = database.DefaultLimit
	case limit > database.MaxLimit:
		return page{}, invalid("limit: at most %d", database.MaxLimit)
	}
	if req.Offset < 0 {
		return page{}, invalid("offset: must not be negative")
	}
	where, wargs, err := s.where(req.Filter)
	if err != nil {
		return page{}, err
	}
	order, oargs, err := s.orderBy(req.Sort)
	if err != nil {
		return page{}, err
	}
	args := append([]any{req.Collection}, wargs...)
	inCollection := "collection = ?"
	if s.pg && len(req.Sort) == 0 {
		// In insertion order, PostgreSQL may walk the primary key (seq)
		// and filter on the collection, expecting its documents spread
		// evenly, and so pass every older document of other collections
		// first. With the collection as a range (the same rows) and first
		// in the order, only the (collection, seq) index gives the order.
		inCollection, order = "collection >= ? AND collection <= ?", "collection, "+order
		args = append([]any{req.Collection}, args...)
	}
	args = append(args, oargs...)
	args = append(args, limit, req.Offset)
	// The window count gives the total with the page in one statement, but
	// it makes the database visit (and sort) every match before the first
	// row comes out; without it the statement stops at LIMIT whenever an
	// index gives the order.
	total := ", COUNT(*) OVER ()"
	if req.NoTotal {
		total = ""
	}
	q := s.rebind(`SELECT id, int_id, data, created_at, updated_at` + total + `
		FROM rosey_documents WHERE ` + inCollection + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`)
	return page{sql: q, args: args, where: where, wargs: wargs}, nil
}

// Count counts the documents matching the filter.
func (s *Store) Count(ctx context.Context, req database.CountRequest) (database.CountResult, error) {
	if err := checkCollection(req.Collection); err != nil {
		return database.CountResult{}, err
	}
	where, wargs, err := s.where(req.Filter)
	if err != nil {
		return database.CountResult{}, err
	}
	n, err := s.count(ctx, req.Collection, where, wargs)
	return database.CountResult{Count: n}, err
}

func (s *Store) count(ctx context.Context, collection, where string, wargs []any) (int64, error) {
	var n int64
	err := s.readRow(ctx, s.rebind(`SELECT COUNT(*) FROM rosey_documents WHERE collection = ?`+where),
		append([]any{collection}, wargs...), &n)
	if err != nil {
		return 0, s.readFailure("count", err)
	}
	return n, nil
}

// Update applies $inc and $set to one document and returns it, once the
// transaction holding the update has committed. Updates are applied one
// after the other by the writer, and on PostgreSQL the row is also locked
// (SELECT ... FOR UPDATE) against other service instances, so concurrent
// increments never get lost.
func (s *Store) Update(ctx context.Context, req database.UpdateRequest) (json.RawMessage, error) {
	w, err := s.updateWrite(req)
	if err != nil {
		return nil, err
	}
	if err := s.do(ctx, w); err != nil {
		return nil, err
	}
	return w.result.(json.RawMessage), nil
}

// updateWrite checks an update and returns its write; its result is the
// updated document, a json.RawMessage.
func (s *Store) updateWrite(req database.UpdateRequest) (*write, error) {
	if err := checkCollection(req.Collection); err != nil {
		return nil, err
	}
	if err := checkID(req.ID); err != nil {
		return nil, err
	}
	inc, set, err := checkUpdate(req.Update)
	if err != nil {
		return nil, err
	}
	text, intID := idArgs(req.ID)
	w := &write{op: "update"}
	w.apply = func(ctx context.Context, tx *wtx) error {
		// Every refusal (not found, a bad $inc, the schema) is decided
		// before anything is written, as a batch's write must.
		for range 3 {
			ts := now()
			var cur []byte
			err := tx.queryRow(ctx, s.sql.selectDoc, []any{req.Collection, text}, &cur)
			found := err == nil
			switch {
			case errors.Is(err, sql.ErrNoRows) && !req.Upsert:
				return fmt.Errorf("%w: %s/%s", database.ErrNotFound, req.Collection, req.ID)
			case errors.Is(err, sql.ErrNoRows):
				cur = []byte("{}")
			case err != nil:
				return err
			}
			doc, err := decodeObject(cur)
			if err != nil {
				return err
			}
			if err := applyUpdate(doc, inc, set); err != nil {
				return err
			}
			out, err := json.Marshal(doc)
			if err != nil {
				return err
			}
			if _, err := s.checkDoc(out); err != nil {
				return err
			}
			if err := s.validateSchema(req.Collection, out); err != nil {
				return err
			}
			if found {
				if _, err := tx.exec(ctx, s.sql.updateDoc,
					string(out), ts, req.Collection, text); err != nil {
					return err
				}
				w.result = json.RawMessage(out)
				return nil
			}
			res, err := tx.exec(ctx, s.sql.insertDoc,
				req.Collection, text, intID, string(out), ts, ts)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if err := s.bumpSequence(ctx, tx, req.Collection, req.ID); err != nil {
					return err
				}
				w.result = json.RawMessage(out)
				return nil
			}
			// Another service instance (PostgreSQL) inserted it since the
			// SELECT: read it again, locked this time.
		}
		return errors.New("upsert: the document keeps appearing and vanishing")
	}
	return w, nil
}

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		doc = map[string]any{}
	}
	return doc, nil
}

// checkUpdate validates an update and returns its normalised parts.
func checkUpdate(u database.Update) (inc map[string]json.Number, set map[string]any, err error) {
	if len(u.Inc) == 0 && len(u.Set) == 0 {
		return nil, nil, invalid("update: needs $inc or $set")
	}
	if len(u.Inc)+len(u.Set) > 256 {
		return nil, nil, invalid("update: at most 256 fields")
	}
	inc = map[string]json.Number{}
	for f, v := range u.Inc {
		if err := checkField("update $inc", f); err != nil {
			return nil, nil, err
		}
		nv, err := normalize(v)
		if err != nil {
			return nil, nil, err
		}
		n, ok := nv.(json.Number)
		if !ok {
			return nil, nil, invalid("update: $inc.%s: needs a number", f)
		}
		inc[f] = n
	}
	set = map[string]any{}
	for f, v := range u.Set {
		if err := checkField("update $set", f); err != nil {
			return nil, nil, err
		}
		if _, dup := inc[f]; dup {
			return nil, nil, invalid("update: field %s is in both $inc and $set", f)
		}
		nv, err := normalize(v)
		if err != nil {
			return nil, nil, err
		}
		set[f] = nv
	}
	return inc, set, nil
}

func applyUpdate(doc map[string]any, inc map[string]json.Number, set map[string]any) error {
	fields := make([]string, 0, len(inc))
	for f := range inc {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		var cur json.Number = "0"
		switch v := doc[f].(type) {
		case nil:
		case json.Number:
			cur = v
		default:
			return fmt.Errorf("%w: field %s: $inc needs a number, the document holds %s", database.ErrValidation, f, jsonType(v))
		}
		sum, err := addNumbers(cur, inc[f])
		if err != nil {
			return fmt.Errorf("%w: field %s: %v", database.ErrValidation, f, err)
		}
		doc[f] = sum
	}
	for f, v := range set {
		doc[f] = v
	}
	return nil
}

// addNumbers adds exactly when both are integers, in float64 otherwise.
func addNumbers(a, b json.Number) (json.Number, error) {
	ai, aerr := a.Int64()
	bi, berr := b.Int64()
	if aerr == nil && berr == nil {
		sum := ai + bi
		if (bi > 0 && sum < ai) || (bi < 0 && sum > ai) {
			return "", errors.New("$inc overflows a 64-bit integer")
		}
		return json.Number(strconv.FormatInt(sum, 10)), nil
	}
	af, err1 := a.Float64()
	bf, err2 := b.Float64()
	if err1 != nil || err2 != nil {
		return "", errors.New("$inc: number out of range")
	}
	sum := af + bf
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		return "", errors.New("$inc overflows")
	}
	return json.Number(strconv.FormatFloat(sum, 'g', -1, 64)), nil
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}
