package dbservice

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/roseybot/rosey/database"
)

// Bounds on a filter, keeping each query's SQL and parameter count small.
const (
	maxFilterFields = 32
	maxInValues     = database.MaxInValues
	maxInTotal      = database.MaxInTotal
	maxSortFields   = 8
	maxPatternLen   = 256
)

// normalize turns any Go value into what decoding its JSON with UseNumber
// gives: nil, bool, json.Number, string, []any or map[string]any. Filters
// and updates from Go callers (ints, float64s, structs) and from the wire
// then look the same.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, invalid("%v", err)
	}
	return out, nil
}

// cond builds the SQL after "WHERE collection = ?": each piece of user
// input becomes a bound parameter, field names included (as JSON paths).
type cond struct {
	pg   bool
	sql  strings.Builder
	args []any
}

func (c *cond) add(sql string, args ...any) {
	c.sql.WriteString(sql)
	c.args = append(c.args, args...)
}

// path is a field's parameter: a JSON path for SQLite, a key for jsonb.
func (c *cond) path(field string) any {
	if c.pg {
		return field
	}
	return "$." + field
}

// value binds a JSON scalar for comparison with a field.
func (c *cond) value(v any) any {
	if c.pg {
		b, _ := json.Marshal(v)
		return string(b)
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

// typeCheck restricts field to v's JSON type, so 1 never equals true or
// "1", and a range over numbers never matches strings (both databases
// would otherwise order different types against each other).
func (c *cond) typeCheck(field string, v any) {
	p := c.path(field)
	switch v := v.(type) {
	case json.Number:
		if c.pg {
			c.add("jsonb_typeof(data->?) = 'number'", p)
		} else {
			c.add("json_type(data, ?) IN ('integer', 'real')", p)
		}
	case string:
		if c.pg {
			c.add("jsonb_typeof(data->?) = 'string'", p)
		} else {
			c.add("json_type(data, ?) = 'text'", p)
		}
	case bool:
		if c.pg {
			c.add("jsonb_typeof(data->?) = 'boolean'", p)
		} else if v {
			c.add("json_type(data, ?) = 'true'", p)
		} else {
			c.add("json_type(data, ?) = 'false'", p)
		}
	}
}

func (c *cond) eq(field string, v any) {
	p := c.path(field)
	switch {
	case v == nil && c.pg:
		c.add("COALESCE(data->?, 'null'::jsonb) = 'null'::jsonb", p)
	case v == nil:
		c.add("json_extract(data, ?) IS NULL", p)
	case c.pg:
		c.add("data->? = CAST(? AS jsonb)", p, c.value(v))
	default:
		c.add("(")
		c.typeCheck(field, v)
		if _, ok := v.(bool); !ok {
			c.add(" AND json_extract(data, ?) = ?", p, c.value(v))
		}
		c.add(")")
	}
}

func (c *cond) ne(field string, v any) {
	p := c.path(field)
	switch {
	case v == nil && c.pg:
		c.add("COALESCE(data->?, 'null'::jsonb) <> 'null'::jsonb", p)
	case v == nil:
		c.add("json_extract(data, ?) IS NOT NULL", p)
	case c.pg:
		c.add("data->? IS DISTINCT FROM CAST(? AS jsonb)", p, c.value(v))
	default:
		// A missing field makes the equality NULL; it counts as "not equal".
		c.add("NOT COALESCE(")
		c.eq(field, v)
		c.add(", 0)")
	}
}

// in matches field against a list of scalars with one SQL IN list per JSON
// type, not one equality per value: a chain of 1000 ORs passed SQLite's
// expression depth limit (1000), and three parameters per value its
// parameter limit (32766) on a few fields. It matches what eq matches for
// each value.
func (c *cond) in(field string, list []any) {
	p := c.path(field)
	values := func(vals []any) {
		for i, v := range vals {
			if i > 0 {
				c.add(", ")
			}
			if c.pg {
				c.add("CAST(? AS jsonb)", c.value(v))
			} else {
				c.add("?", c.value(v))
			}
		}
	}
	if c.pg {
		// jsonb equality is already strict about types.
		c.add("data->? IN (", p)
		values(list)
		c.add(")")
		return
	}
	var nums, strs []any
	var isTrue, isFalse bool
	for _, item := range list {
		switch v := item.(type) {
		case json.Number:
			nums = append(nums, v)
		case string:
			strs = append(strs, v)
		case bool:
			isTrue, isFalse = isTrue || v, isFalse || !v
		}
	}
	terms := 0
	or := func() {
		if terms > 0 {
			c.add(" OR ")
		}
		terms++
	}
	c.add("(")
	for _, g := range []struct {
		typ  string
		vals []any
	}{{"IN ('integer', 'real')", nums}, {"= 'text'", strs}} {
		if len(g.vals) == 0 {
			continue
		}
		or()
		c.add("(json_type(data, ?) "+g.typ+" AND json_extract(data, ?) IN (", p, p)
		values(g.vals)
		c.add("))")
	}
	if isTrue {
		or()
		c.add("json_type(data, ?) = 'true'", p)
	}
	if isFalse {
		or()
		c.add("json_type(data, ?) = 'false'", p)
	}
	c.add(")")
}

func (c *cond) compare(field, op string, v any) error {
	switch v.(type) {
	case json.Number, string:
	default:
		return invalid("filter: field %s: %s needs a number or a string", field, opName(op))
	}
	p := c.path(field)
	c.add("(")
	c.typeCheck(field, v)
	switch _, isStr := v.(string); {
	case c.pg && isStr:
		// Byte order, as SQLite compares, whatever the database's collation.
		c.add(` AND (data->>?) COLLATE "C" `+op+" ?", p, v)
	case c.pg:
		c.add(" AND data->? "+op+" CAST(? AS jsonb)", p, c.value(v))
	default:
		c.add(" AND json_extract(data, ?) "+op+" ?", p, c.value(v))
	}
	c.add(")")
	return nil
}

func opName(op string) string {
	return map[string]string{">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}[op]
}

// noNUL refuses a string holding NUL: no document holds one (PostgreSQL's
// jsonb cannot), and PostgreSQL refuses it in a jsonb value with an error
// of its own.
func noNUL(field, op string, v any) error {
	if s, ok := v.(string); ok && strings.IndexByte(s, 0) >= 0 {
		return invalid("filter: field %s: %s: strings must not contain NUL (\\u0000)", field, op)
	}
	return nil
}

func scalar(v any) bool {
	switch v.(type) {
	case nil, bool, json.Number, string:
		return true
	}
	return false
}

// where renders filter as " AND ..." conditions.
func (s *Store) where(filter database.Filter) (string, []any, error) {
	if len(filter) == 0 {
		return "", nil, nil
	}
	if len(filter) > maxFilterFields {
		return "", nil, invalid("filter: at most %d fields", maxFilterFields)
	}
	c := &cond{pg: s.pg}
	fields := make([]string, 0, len(filter))
	for f := range filter {
		fields = append(fields, f)
	}
	sort.Strings(fields) // stable SQL text for the same filter
	inTotal := 0
	for _, f := range fields {
		if err := checkField("filter", f); err != nil {
			return "", nil, err
		}
		v, err := normalize(filter[f])
		if err != nil {
			return "", nil, err
		}
		ops, isObj := v.(map[string]any)
		if !isObj {
			if !scalar(v) {
				return "", nil, invalid("filter: field %s: arrays cannot be matched; use $in", f)
			}
			if err := noNUL(f, "value", v); err != nil {
				return "", nil, err
			}
			c.add(" AND ")
			c.eq(f, v)
			continue
		}
		if len(ops) == 0 {
			return "", nil, invalid("filter: field %s: empty operator object", f)
		}
		names := make([]string, 0, len(ops))
		for op := range ops {
			names = append(names, op)
		}
		sort.Strings(names)
		for _, op := range names {
			arg := ops[op]
			if err := noNUL(f, op, arg); err != nil {
				return "", nil, err
			}
			c.add(" AND ")
			switch op {
			case "$eq", "$ne":
				if !scalar(arg) {
					return "", nil, invalid("filter: field %s: %s needs a scalar value", f, op)
				}
				if op == "$eq" {
					c.eq(f, arg)
				} else {
					c.ne(f, arg)
				}
			case "$gt", "$gte", "$lt", "$lte":
				sqlOp := map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
				if err := c.compare(f, sqlOp, arg); err != nil {
					return "", nil, err
				}
			case "$in":
				list, ok := arg.([]any)
				if !ok {
					return "", nil, invalid("filter: field %s: $in needs an array", f)
				}
				if len(list) > maxInValues {
					return "", nil, invalid("filter: field %s: $in takes at most %d values", f, maxInValues)
				}
				if inTotal += len(list); inTotal > maxInTotal {
					return "", nil, invalid("filter: $in takes at most %d values in all fields together", maxInTotal)
				}
				if len(list) == 0 {
					c.add("1 = 0")
					continue
				}
				for _, item := range list {
					if item == nil || !scalar(item) {
						return "", nil, invalid("filter: field %s: $in values must be strings, numbers or booleans", f)
					}
					if err := noNUL(f, op, item); err != nil {
						return "", nil, err
					}
				}
				c.in(f, list)
			case "$like":
				pat, ok := arg.(string)
				if !ok {
					return "", nil, invalid("filter: field %s: $like needs a string pattern", f)
				}
				if len(pat) > maxPatternLen {
					return "", nil, invalid("filter: field %s: $like pattern longer than %d bytes", f, maxPatternLen)
				}
				if trailing := len(pat) - len(strings.TrimRight(pat, `\`)); trailing%2 == 1 {
					return "", nil, invalid("filter: field %s: $like pattern ends with a lone escape character \\", f)
				}
				p := c.path(f)
				if c.pg {
					c.add(`(jsonb_typeof(data->?) = 'string' AND data->>? ILIKE ? ESCAPE '\')`, p, p, pat)
				} else {
					c.add(`(json_type(data, ?) = 'text' AND json_extract(data, ?) LIKE ? ESCAPE '\')`, p, p, pat)
				}
			default:
				return "", nil, invalid("filter: field %s: unknown operator %q (want $eq $ne $gt $gte $lt $lte $in $like)", f, truncate(op))
			}
		}
	}
	return c.sql.String(), c.args, nil
}

// sortKey orders by field in the contract's order of JSON values, the
// same on both databases: first the type's rank (numbers, strings,
// booleans, then arrays and objects; null and missing have none, and come
// last either way), then the value within its type. Strings compare in
// byte order (PostgreSQL's jsonb would use the database's collation);
// arrays and objects are not compared (SQLite would compare their text,
// PostgreSQL their structure), and so keep the next key's order.
func (c *cond) sortKey(field, dir string) {
	p := c.path(field)
	if c.pg {
		c.add("CASE jsonb_typeof(data->?) WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'boolean' THEN 3 "+
			"WHEN 'array' THEN 4 WHEN 'object' THEN 4 END "+dir+" NULLS LAST, ", p)
		c.add("CASE WHEN jsonb_typeof(data->?) IN ('number', 'boolean') THEN data->? END "+dir+", ", p, p)
		c.add(`(CASE WHEN jsonb_typeof(data->?) = 'string' THEN data->>? END) COLLATE "C" `+dir+", ", p, p)
		return
	}
	// json_extract gives numbers as numbers, strings as text (compared
	// BINARY: byte order), false and true as 0 and 1.
	c.add("CASE json_type(data, ?) WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 "+
		"WHEN 'false' THEN 3 WHEN 'true' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 END "+dir+" NULLS LAST, ", p)
	c.add("CASE WHEN json_type(data, ?) IN ('array', 'object') THEN NULL ELSE json_extract(data, ?) END "+dir+", ", p, p)
}

// orderBy renders sort fields ("name" ascending, "-name" descending, "$id"
// the integer id) and ends with insertion order, so pages never overlap.
func (s *Store) orderBy(fields []string) (string, []any, error) {
	if len(fields) > maxSortFields {
		return "", nil, invalid("sort: at most %d fields", maxSortFields)
	}
	c := &cond{pg: s.pg}
	for _, f := range fields {
		dir := "ASC"
		switch {
		case strings.HasPrefix(f, "-"):
			f, dir = f[1:], "DESC"
		case strings.HasPrefix(f, "+"):
			f = f[1:]
		}
		if f == database.SortByID {
			// int_id is NULL for string ids: they come last either way.
			// An index on (collection, int_id) serves "-$id" on both
			// databases (and "$id" on SQLite).
			c.add("int_id " + dir + " NULLS LAST, ")
			continue
		}
		if err := checkField("sort", f); err != nil {
			return "", nil, err
		}
		c.sortKey(f, dir)
	}
	c.add("seq ASC")
	return c.sql.String(), c.args, nil
}
