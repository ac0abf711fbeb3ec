package database

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/flatjson"
)

// Client talks to the database service over the bus, in one namespace. It
// is safe for concurrent use and holds no state besides the bus.
type Client struct {
	bus *eventbus.Bus
	ns  string
	// subjects of set, get, query, delete, update, count, schema.register
	subjects subjects
	badNS    bool
}

// validNamespace reports whether ns is a namespace name: a plugin name,
// [A-Za-z0-9_-]{1,64}, and not ReservedNamespace.
func validNamespace(ns string) bool {
	if len(ns) == 0 || len(ns) > 64 || ns == ReservedNamespace {
		return false
	}
	for _, r := range ns {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

type subjects struct{ set, get, query, delete, update, count, schema string }

// NewClient returns a client that sends its requests on bus, in the
// default namespace (database.set and so on).
func NewClient(bus *eventbus.Bus) *Client {
	return &Client{bus: bus, subjects: subjects{SubjectSet, SubjectGet, SubjectQuery, SubjectDelete, SubjectUpdate, SubjectCount, SubjectSchemaRegister}}
}

// Namespace returns a client on the same bus whose collections are those
// of namespace ns: its requests go to database.<ns>.<op>. A plugin's
// Host.DB is already in the plugin's own namespace; Namespace reaches a
// namespace shared with other plugins, which works only where the NATS
// server lets this connection publish on database.<ns>.> (in a
// least-privilege deployment the operator grants it). "" is the default
// namespace.
func (c *Client) Namespace(ns string) *Client {
	if ns == "" {
		return NewClient(c.bus)
	}
	if !validNamespace(ns) {
		// Requests then fail as invalid rather than go to a subject no
		// service answers.
		return &Client{bus: c.bus, ns: ns, badNS: true}
	}
	sub := func(op string) string { return NamespaceSubject(ns, op) }
	return &Client{bus: c.bus, ns: ns, subjects: subjects{sub("set"), sub("get"), sub("query"), sub("delete"), sub("update"), sub("count"), sub("schema.register")}}
}

// NamespaceName returns the client's namespace, "" for the default one.
func (c *Client) NamespaceName() string { return c.ns }

// Set stores doc (marshalled to a JSON object) in collection under id,
// replacing what was there. With the zero ID the service assigns the next
// integer of the collection. It returns the id used.
func (c *Client) Set(ctx context.Context, collection string, id ID, doc any) (ID, error) {
	data, err := marshalDoc("set", doc)
	if err != nil {
		return ID{}, err
	}
	var res SetResult
	err = c.call(ctx, "set", c.subjects.set, SetRequest{Collection: collection, ID: id, Data: data}, &res)
	return res.ID, err
}

// Get loads the document under id into out (anything json.Unmarshal
// accepts). A missing document gives an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, collection string, id ID, out any) error {
	return c.call(ctx, "get", c.subjects.get, encodeGet(collection, id), out)
}

// encodeGet writes a get request as json.Marshal would, without reflection
// when its strings are plain (the most frequent request there is).
func encodeGet(collection string, id ID) any {
	b := make([]byte, 0, 32+len(collection)+len(id.s))
	b = append(b, `{"collection":`...)
	b, ok := flatjson.AppendString(b, collection)
	if ok {
		b = append(b, `,"id":`...)
		switch {
		case id.isInt:
			b = append(b, id.s...)
		case id.s == "":
			b = append(b, "null"...)
		default:
			b, ok = flatjson.AppendString(b, id.s)
		}
	}
	if !ok {
		return GetRequest{Collection: collection, ID: id}
	}
	return append(b, '}')
}

// Query returns the documents of q.Collection matching q.Filter, sorted,
// limited and offset as q says, with the total count of matches (or
// NotCounted when q.NoTotal is set, which spares the service a count of
// every match).
func (c *Client) Query(ctx context.Context, q QueryRequest) (*QueryResult, error) {
	var res QueryResult
	if err := c.call(ctx, "query", c.subjects.query, q, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Count returns how many documents of collection match filter (nil for all).
func (c *Client) Count(ctx context.Context, collection string, filter Filter) (int64, error) {
	var res CountResult
	err := c.call(ctx, "count", c.subjects.count, CountRequest{Collection: collection, Filter: filter}, &res)
	return res.Count, err
}

// Delete removes the document under id and reports whether one was there.
func (c *Client) Delete(ctx context.Context, collection string, id ID) (bool, error) {
	var res DeleteResult
	err := c.call(ctx, "delete", c.subjects.delete, DeleteRequest{Collection: collection, ID: id}, &res)
	return res.Deleted, err
}

// Update applies u to the document under id atomically and loads the
// result into out (which may be nil). A missing document gives an error
// matching ErrNotFound.
func (c *Client) Update(ctx context.Context, collection string, id ID, u Update, out any) error {
	return c.call(ctx, "update", c.subjects.update, UpdateRequest{Collection: collection, ID: id, Update: u}, out)
}

// Upsert is Update that creates a missing document from u (its $inc fields
// start at 0).
func (c *Client) Upsert(ctx context.Context, collection string, id ID, u Update, out any) error {
	return c.call(ctx, "update", c.subjects.update, UpdateRequest{Collection: collection, ID: id, Update: u, Upsert: true}, out)
}

// RegisterSchema makes every later write to collection satisfy schema, a
// JSON Schema given as a string, []byte, json.RawMessage or anything that
// marshals to one. A nil schema removes the collection's schema.
func (c *Client) RegisterSchema(ctx context.Context, collection string, schema any) error {
	var raw json.RawMessage
	switch s := schema.(type) {
	case nil:
		raw = json.RawMessage("null")
	case string:
		raw = json.RawMessage(s)
	case []byte:
		raw = s
	case json.RawMessage:
		raw = s
	default:
		b, err := json.Marshal(s)
		if err != nil {
			return &Error{Op: "schema.register", Code: CodeInvalidRequest, Message: err.Error(), Err: err}
		}
		raw = b
	}
	if !json.Valid(raw) {
		return &Error{Op: "schema.register", Code: CodeMalformed, Message: "schema is not valid JSON"}
	}
	return c.call(ctx, "schema.register", c.subjects.schema, SchemaRequest{Collection: collection, Schema: raw}, nil)
}

func marshalDoc(op string, doc any) (json.RawMessage, error) {
	switch d := doc.(type) {
	case json.RawMessage:
		return d, nil
	case []byte:
		return d, nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, &Error{Op: op, Code: CodeInvalidRequest, Message: err.Error(), Err: err}
	}
	return b, nil
}

// call sends req and decodes a successful reply's data into out.
const successPrefix = `{"success":true,"data":`

func (c *Client) call(ctx context.Context, op, subject string, req, out any) error {
	if c.badNS {
		return &Error{Op: op, Code: CodeInvalidRequest, Message: fmt.Sprintf("namespace %q is not a valid name (letters, digits, _ and -, at most 64; not %q)", c.ns, ReservedNamespace)}
	}
	ev, err := c.bus.Request(ctx, subject, req)
	if err != nil {
		code := CodeUnavailable
		if errors.Is(err, eventbus.ErrInvalidSubject) {
			code = CodeInvalidRequest
		}
		return &Error{Op: op, Code: code, Err: err}
	}
	// The service writes a success as {"success":true,"data":…}: take the
	// data from between the two without scanning the document twice.
	if body := ev.Data; bytes.HasPrefix(body, []byte(successPrefix)) && len(body) > len(successPrefix) && body[len(body)-1] == '}' {
		data := body[len(successPrefix) : len(body)-1]
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Op: op, Code: CodeInternal, Message: fmt.Sprintf("decode reply data: %v", err), Err: err}
		}
		return nil
	}
	var rep Reply
	if err := json.Unmarshal(ev.Data, &rep); err != nil {
		return &Error{Op: op, Code: CodeInternal, Message: fmt.Sprintf("unreadable reply: %v", err), Err: err}
	}
	if !rep.Success {
		code := rep.Code
		if code == "" {
			code = CodeInternal
		}
		return &Error{Op: op, Code: code, Message: rep.Error}
	}
	if out == nil || len(rep.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(rep.Data, out); err != nil {
		return &Error{Op: op, Code: CodeInternal, Message: fmt.Sprintf("decode reply data: %v", err), Err: err}
	}
	return nil
}
