package dbservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/roseybot/rosey/database"
)

type compiledSchema struct {
	schema *jsonschema.Schema
}

// compileSchema compiles a schema that may not load anything from outside:
// a $ref to a file or URL is an error, not a read of the service's disk.
func compileSchema(collection string, raw []byte) (*compiledSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: schema: %v", database.ErrMalformed, err)
	}
	switch doc.(type) {
	case map[string]any, bool:
	default:
		return nil, invalid("schema: must be a JSON object (or a boolean)")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{})
	loc := "urn:rosey:schema:" + collection
	if err := c.AddResource(loc, doc); err != nil {
		return nil, invalid("schema: %v", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, invalid("schema: %v", err)
	}
	return &compiledSchema{schema: sch}, nil
}

// validateSchema checks data against the collection's schema, if any. The
// error names the offending fields.
func (s *Store) validateSchema(collection string, data []byte) error {
	s.schemaMu.RLock()
	cs := s.schemas[collection]
	s.schemaMu.RUnlock()
	if cs == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: data: %v", database.ErrMalformed, err)
	}
	err = cs.schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%w: %v", database.ErrValidation, err)
	}
	var msgs []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		where := "document"
		if u.InstanceLocation != "" {
			where = "field " + strings.TrimPrefix(u.InstanceLocation, "/")
		}
		m := where + ": " + u.Error.String()
		if len(msgs) < 5 && !contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "document does not match the schema")
	}
	return fmt.Errorf("%w: %s: %s", database.ErrValidation, collection, strings.Join(msgs, "; "))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// RegisterSchema stores (or, with a null schema, removes) a collection's
// schema. Registrations go through the writer like every write, and the
// cache is updated after the commit, in the writer's order, so it always
// matches the table.
func (s *Store) RegisterSchema(ctx context.Context, req database.SchemaRequest) (database.SchemaResult, error) {
	w, err := s.schemaWrite(req)
	if err != nil {
		return database.SchemaResult{Collection: req.Collection}, err
	}
	if err := s.do(ctx, w); err != nil {
		return database.SchemaResult{Collection: req.Collection}, err
	}
	return w.result.(database.SchemaResult), nil
}

// schemaWrite checks and compiles a schema and returns the write that
// registers it; its result is a database.SchemaResult.
func (s *Store) schemaWrite(req database.SchemaRequest) (*write, error) {
	if err := checkCollection(req.Collection); err != nil {
		return nil, err
	}
	raw := bytes.TrimSpace(req.Schema)
	if len(raw) > s.cfg.MaxDocumentSize {
		return nil, fmt.Errorf("%w: schema: %d bytes, the limit is %d", database.ErrTooLarge, len(raw), s.cfg.MaxDocumentSize)
	}
	w := &write{op: "schema.register"}
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		w.apply = func(ctx context.Context, tx *wtx) error {
			if _, err := tx.exec(ctx, s.sql.deleteSchema, req.Collection); err != nil {
				return err
			}
			w.result = database.SchemaResult{Collection: req.Collection}
			return nil
		}
		w.after = func() {
			s.schemaMu.Lock()
			delete(s.schemas, req.Collection)
			s.schemaMu.Unlock()
		}
		return w, nil
	}
	cs, err := compileSchema(req.Collection, raw)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("%w: schema: %v", database.ErrMalformed, err)
	}
	w.apply = func(ctx context.Context, tx *wtx) error {
		if _, err := tx.exec(ctx, s.sql.upsertSchema,
			req.Collection, compact.String(), now()); err != nil {
			return err
		}
		w.result = database.SchemaResult{Collection: req.Collection, Registered: true}
		return nil
	}
	w.after = func() {
		s.schemaMu.Lock()
		s.schemas[req.Collection] = cs
		s.schemaMu.Unlock()
	}
	return w, nil
}

// loadSchemas compiles the stored schemas at startup. One that no longer
// compiles is logged and skipped rather than keeping the service down.
func (s *Store) loadSchemas(ctx context.Context) error {
	// The writer connection is open already; the read pool opens on demand.
	rows, err := s.w.DB.QueryContext(ctx, `SELECT collection, schema FROM rosey_schemas`)
	if err != nil {
		return fmt.Errorf("dbservice: load schemas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var coll, raw string
		if err := rows.Scan(&coll, &raw); err != nil {
			return fmt.Errorf("dbservice: load schemas: %w", err)
		}
		cs, err := compileSchema(coll, []byte(raw))
		if err != nil {
			s.log.Error("stored schema does not compile; writes to the collection are not checked", "collection", coll, "err", err)
			continue
		}
		s.schemas[coll] = cs
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dbservice: load schemas: %w", err)
	}
	return nil
}
