package dbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// Env is one running service: an embedded NATS server, a bus, the
// database service and a client.
type Env struct {
	Bus     *eventbus.Bus
	Service *dbservice.Service
	Client  *database.Client
	Config  dbservice.Config
}

// Restart stops the service and starts a new one on the same database.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if err := e.Service.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	svc, err := dbservice.Start(ctx, e.Bus, e.Config)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	e.Service = svc
}

// Start starts an embedded NATS server, a bus and the service with cfg;
// everything is stopped when the test ends.
func Start(t testing.TB, cfg dbservice.Config) *Env {
	t.Helper()
	ctx := context.Background()
	if cfg.Logger == nil && os.Getenv("ROSEY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	bus, err := eventbus.Connect(ctx, srv.BusConfig("dbtest"))
	if err != nil {
		t.Fatalf("bus: %v", err)
	}
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	env := &Env{Bus: bus, Service: svc, Client: database.NewClient(bus), Config: cfg}
	t.Cleanup(func() {
		if err := env.Service.Stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return env
}

// Raw sends body to subject and decodes the reply envelope.
func (e *Env) Raw(t testing.TB, subject string, body string) database.Reply {
	t.Helper()
	ev, err := e.Bus.Request(context.Background(), subject, json.RawMessage(body))
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	var rep database.Reply
	if err := json.Unmarshal(ev.Data, &rep); err != nil {
		t.Fatalf("reply to %s is not JSON: %v: %s", subject, err, ev.Data)
	}
	return rep
}

// Unique returns a collection name no other test uses, so tests can share
// one PostgreSQL database.
func Unique(prefix string) string {
	return prefix + "_" + strings.ToLower(eventbus.NewCorrelationID()[10:])
}

// RunContract runs the whole contract suite. newConfig returns the
// configuration of a fresh (or shared but collection-isolated) database.
func RunContract(t *testing.T, newConfig func(t *testing.T) dbservice.Config) {
	env := Start(t, newConfig(t))
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, env *Env)
	}{
		{"SetGet", testSetGet},
		{"IDs", testIDs},
		{"Delete", testDelete},
		{"Timestamps", testTimestamps},
		{"QueryFilters", testQueryFilters},
		{"LargeFilters", testLargeFilters},
		{"QuerySortPaging", testQuerySortPaging},
		{"SortMixedTypes", testSortMixedTypes},
		{"QueryNoTotal", testQueryNoTotal},
		{"SortByID", testSortByID},
		{"Count", testCount},
		{"Update", testUpdate},
		{"ConcurrentInc", testConcurrentInc},
		{"ConcurrentAssign", testConcurrentAssign},
		{"Schema", testSchema},
		{"ErrorCodes", testErrorCodes},
		{"Hostile", testHostile},
		{"Namespaces", testNamespaces},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, env) })
	}
	t.Run("Restart", func(t *testing.T) { testRestart(t, newConfig(t)) })
	t.Run("GroupCommit", func(t *testing.T) { testGroupCommit(t, newConfig(t)) })
	t.Run("ManyWriters", func(t *testing.T) { testManyWriters(t, newConfig(t)) })
	t.Run("BadWriteFailsAlone", func(t *testing.T) { testBadWriteFailsAlone(t, newConfig(t)) })
	t.Run("ManyBadWrites", func(t *testing.T) { testManyBadWrites(t, newConfig(t)) })
	t.Run("ReadsDuringWrite", func(t *testing.T) { testReadsDuringWrite(t, newConfig(t)) })
	t.Run("Moves", func(t *testing.T) { testMoves(t, newConfig(t)) })
	t.Run("BuiltinMigration", func(t *testing.T) { testBuiltinMigration(t, newConfig(t)) })
}

type quote struct {
	Text  string `json:"text"`
	User  string `json:"user"`
	Score int    `json:"score,omitempty"`
}

func testSetGet(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("quotes")
	id, err := c.Set(ctx, coll, database.ID{}, quote{Text: "hello", User: "alice"})
	is.NoErr(err)
	is.Equal(id, database.IntID(1))
	id2, err := c.Set(ctx, coll, database.ID{}, quote{Text: "again", User: "bob"})
	is.NoErr(err)
	is.Equal(id2, database.IntID(2))
	var q quote
	is.NoErr(c.Get(ctx, coll, id, &q))
	is.Equal(q, quote{Text: "hello", User: "alice"})

	// set replaces the whole document
	_, err = c.Set(ctx, coll, id, map[string]any{"text": "replaced"})
	is.NoErr(err)
	var m map[string]any
	is.NoErr(c.Get(ctx, coll, id, &m))
	is.Equal(m, map[string]any{"text": "replaced"})

	// on the wire, get's data is the stored object itself, not wrapped
	rep := env.Raw(t, database.SubjectGet, fmt.Sprintf(`{"collection":%q,"id":2}`, coll))
	is.True(rep.Success)
	is.Equal(rep.Error, "")
	var wire map[string]any
	is.NoErr(json.Unmarshal(rep.Data, &wire))
	is.Equal(wire["user"], "bob")
	rep = env.Raw(t, database.SubjectSet, fmt.Sprintf(`{"collection":%q,"data":{"n":1}}`, coll))
	is.True(rep.Success)
	is.Equal(string(rep.Data), `{"id":3}`)
}

func testIDs(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("ids")
	_, err := c.Set(ctx, coll, database.StringID("alice"), map[string]any{"v": 1})
	is.NoErr(err)
	var m map[string]any
	is.NoErr(c.Get(ctx, coll, database.StringID("alice"), &m))
	// an explicit integer id moves the sequence past it
	id, err := c.Set(ctx, coll, database.IntID(41), map[string]any{"v": 2})
	is.NoErr(err)
	is.Equal(id, database.IntID(41))
	id, err = c.Set(ctx, coll, database.ID{}, map[string]any{"v": 3})
	is.NoErr(err)
	is.Equal(id, database.IntID(42)) // "Quote #42"
	// a digit string names the same document as the integer
	is.NoErr(c.Get(ctx, coll, database.StringID("42"), &m))
	is.Equal(m["v"], 3.0)
	// a string id made of the next number's digits is skipped, not overwritten
	_, err = c.Set(ctx, coll, database.StringID("43"), map[string]any{"v": "str"})
	is.NoErr(err)
	id, err = c.Set(ctx, coll, database.ID{}, map[string]any{"v": 4})
	is.NoErr(err)
	is.Equal(id, database.IntID(44))
	is.NoErr(c.Get(ctx, coll, database.StringID("43"), &m))
	is.Equal(m["v"], "str")
	// sequences are per collection
	id, err = c.Set(ctx, Unique("other"), database.ID{}, map[string]any{})
	is.NoErr(err)
	is.Equal(id, database.IntID(1))
	// query reports each id with its type
	res, err := c.Query(ctx, database.QueryRequest{Collection: coll})
	is.NoErr(err)
	is.Equal(len(res.Items), 5)
	is.Equal(res.Items[0].ID, database.StringID("alice"))
	is.Equal(res.Items[1].ID, database.IntID(41))
	is.Equal(res.Items[3].ID, database.StringID("43"))

	// past the highest integer id there is no next one: a clear refusal,
	// not an internal error, and the rest of the collection goes on
	full := Unique("ids_full")
	_, err = c.Set(ctx, full, database.IntID(math.MaxInt64), map[string]any{"v": "last"})
	is.NoErr(err)
	for range 2 {
		_, err = c.Set(ctx, full, database.ID{}, map[string]any{"v": "next"})
		is.True(errors.Is(err, database.ErrInvalidRequest))
		is.True(strings.Contains(err.Error(), "id"))
	}
	_, err = c.Set(ctx, full, database.StringID("named"), map[string]any{"v": "named"})
	is.NoErr(err)
	n, err := c.Count(ctx, full, nil)
	is.NoErr(err)
	is.Equal(n, int64(2))
}

func testDelete(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("del")
	id, err := c.Set(ctx, coll, database.ID{}, map[string]any{"a": 1})
	is.NoErr(err)
	ok, err := c.Delete(ctx, coll, id)
	is.NoErr(err)
	is.True(ok)
	ok, err = c.Delete(ctx, coll, id)
	is.NoErr(err)
	is.True(!ok)
	err = c.Get(ctx, coll, id, &map[string]any{})
	is.True(errors.Is(err, database.ErrNotFound))
	rep := env.Raw(t, database.SubjectDelete, fmt.Sprintf(`{"collection":%q,"id":1}`, coll))
	is.True(rep.Success)
	is.Equal(string(rep.Data), `{"deleted":false}`)
}

func testTimestamps(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("ts")
	before := time.Now().Add(-time.Second)
	id, err := c.Set(ctx, coll, database.StringID("x"), map[string]any{"n": 1})
	is.NoErr(err)
	first, err := c.Query(ctx, database.QueryRequest{Collection: coll})
	is.NoErr(err)
	it := first.Items[0]
	is.True(it.CreatedAt.After(before))
	is.Equal(it.CreatedAt, it.UpdatedAt)
	_, err = c.Set(ctx, coll, id, map[string]any{"n": 2})
	is.NoErr(err)
	is.NoErr(c.Update(ctx, coll, id, database.Update{Inc: map[string]any{"n": 1}}, nil))
	second, err := c.Query(ctx, database.QueryRequest{Collection: coll})
	is.NoErr(err)
	is.Equal(second.Items[0].CreatedAt, it.CreatedAt) // created_at is kept
	is.True(!second.Items[0].UpdatedAt.Before(it.UpdatedAt))
	is.Equal(string(second.Items[0].Data), string(mustJSON(map[string]any{"n": 3})))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

type player struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	Team  string  `json:"team,omitempty"`
	Admin bool    `json:"admin,omitempty"`
}

func seedPlayers(t *testing.T, env *Env) string {
	t.Helper()
	coll := Unique("players")
	for _, p := range []any{
		player{Name: "alice", Score: 30, Team: "red", Admin: true},
		player{Name: "bob", Score: 10, Team: "blue"},
		player{Name: "carol", Score: 20, Team: "red"},
		player{Name: "dave", Score: 20.5},
		map[string]any{"name": "eve", "score": "high", "team": "blue"},
		map[string]any{"name": "Mallory", "score": nil},
	} {
		if _, err := env.Client.Set(context.Background(), coll, database.ID{}, p); err != nil {
			t.Fatal(err)
		}
	}
	return coll
}

func names(t *testing.T, res *database.QueryResult) []string {
	t.Helper()
	out := []string{}
	for _, it := range res.Items {
		var p struct{ Name string }
		if err := it.Decode(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Name)
	}
	return out
}

func testQueryFilters(t *testing.T, env *Env) {
	ctx := context.Background()
	coll := seedPlayers(t, env)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`{}`, []string{"alice", "bob", "carol", "dave", "eve", "Mallory"}},
		{`{"team":"red"}`, []string{"alice", "carol"}},
		{`{"team":"red","score":{"$gt":25}}`, []string{"alice"}},
		{`{"score":20}`, []string{"carol"}},
		{`{"score":{"$gte":20}}`, []string{"alice", "carol", "dave"}},
		{`{"score":{"$gt":10,"$lt":30}}`, []string{"carol", "dave"}},
		{`{"score":{"$lte":20}}`, []string{"bob", "carol"}},
		{`{"score":{"$gt":"a"}}`, []string{"eve"}},
		{`{"team":{"$ne":"red"}}`, []string{"bob", "dave", "eve", "Mallory"}},
		{`{"team":{"$in":["blue","green"]}}`, []string{"bob", "eve"}},
		{`{"team":{"$in":[]}}`, []string{}},
		{`{"name":{"$like":"%a%"}}`, []string{"alice", "carol", "dave", "Mallory"}},
		{`{"name":{"$like":"m%"}}`, []string{"Mallory"}},
		{`{"admin":true}`, []string{"alice"}},
		{`{"admin":1}`, []string{}},
		{`{"score":null}`, []string{"Mallory"}},
		{`{"team":null}`, []string{"dave", "Mallory"}},
		{`{"score":{"$ne":null}}`, []string{"alice", "bob", "carol", "dave", "eve"}},
		{`{"nosuch":{"$gt":1}}`, []string{}},
		{`{"score":"20"}`, []string{}},
		{`{"score":{"$eq":20.5}}`, []string{"dave"}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			is := is.New(t)
			var f database.Filter
			is.NoErr(json.Unmarshal([]byte(tc.filter), &f))
			res, err := env.Client.Query(ctx, database.QueryRequest{Collection: coll, Filter: f})
			is.NoErr(err)
			is.Equal(names(t, res), tc.want)
			is.Equal(res.Total, int64(len(tc.want)))
			n, err := env.Client.Count(ctx, coll, f)
			is.NoErr(err)
			is.Equal(n, int64(len(tc.want)))
		})
	}
}

func testQuerySortPaging(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := seedPlayers(t, env)
	num := database.Filter{"score": map[string]any{"$gte": 0}}
	res, err := c.Query(ctx, database.QueryRequest{Collection: coll, Filter: num, Sort: []string{"-score"}})
	is.NoErr(err)
	is.Equal(names(t, res), []string{"alice", "dave", "carol", "bob"})
	res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"team": map[string]any{"$in": []string{"red", "blue"}}}, Sort: []string{"team", "-name"}})
	is.NoErr(err)
	is.Equal(names(t, res), []string{"eve", "bob", "carol", "alice"})
	res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: num, Sort: []string{"score"}, Limit: 2, Offset: 1})
	is.NoErr(err)
	is.Equal(names(t, res), []string{"carol", "dave"})
	is.Equal(res.Total, int64(4))
	res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Filter: num, Offset: 10})
	is.NoErr(err)
	is.Equal(len(res.Items), 0)
	is.Equal(res.Total, int64(4))
	// missing fields sort last either way
	res, err = c.Query(ctx, database.QueryRequest{Collection: coll, Sort: []string{"team"}})
	is.NoErr(err)
	is.Equal(names(t, res)[4:], []string{"dave", "Mallory"})

	// default limit 100, at most 1000
	big := Unique("big")
	for i := range 105 {
		_, err := c.Set(ctx, big, database.ID{}, map[string]any{"i": i})
		is.NoErr(err)
	}
	res, err = c.Query(ctx, database.QueryRequest{Collection: big})
	is.NoErr(err)
	is.Equal(len(res.Items), database.DefaultLimit)
	is.Equal(res.Total, int64(105))
	res, err = c.Query(ctx, database.QueryRequest{Collection: big, Limit: 1000})
	is.NoErr(err)
	is.Equal(len(res.Items), 105)
	_, err = c.Query(ctx, database.QueryRequest{Collection: big, Limit: 1001})
	is.True(errors.Is(err, database.ErrInvalidRequest))
	_, err = c.Query(ctx, database.QueryRequest{Collection: big, Offset: -1})
	is.True(errors.Is(err, database.ErrInvalidRequest))

	// the wire shape of a query reply
	rep := env.Raw(t, database.SubjectQuery, fmt.Sprintf(`{"collection":%q,"filter":{"i":3}}`, big))
	is.True(rep.Success)
	var wire struct {
		Items []map[string]json.RawMessage `json:"items"`
		Total int                          `json:"total"`
	}
	is.NoErr(json.Unmarshal(rep.Data, &wire))
	is.Equal(wire.Total, 1)
	is.Equal(string(wire.Items[0]["id"]), "4")
	is.Equal(string(wire.Items[0]["data"]), `{"i":3}`)
	_, ok := wire.Items[0]["created_at"]
	is.True(ok)
	_, ok = wire.Items[0]["updated_at"]
	is.True(ok)
}

func testCount(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	coll := seedPlayers(t, env)
	n, err := env.Client.Count(ctx, coll, nil)
	is.NoErr(err)
	is.Equal(n, int64(6))
	n, err = env.Client.Count(ctx, Unique("empty"), nil)
	is.NoErr(err)
	is.Equal(n, int64(0))
	rep := env.Raw(t, database.SubjectCount, fmt.Sprintf(`{"collection":%q,"filter":{"team":"red"}}`, coll))
	is.True(rep.Success)
	is.Equal(string(rep.Data), `{"count":2}`)
}

func testUpdate(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("scores")
	var out map[string]any
	err := c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"points": 1}}, &out)
	is.True(errors.Is(err, database.ErrNotFound))
	is.NoErr(c.Upsert(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"points": 5}, Set: map[string]any{"name": "Alice"}}, &out))
	is.Equal(out, map[string]any{"points": 5.0, "name": "Alice"})
	is.NoErr(c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"points": -2, "bonus": 0.5}}, &out))
	is.Equal(out, map[string]any{"points": 3.0, "name": "Alice", "bonus": 0.5})
	// big integers stay exact
	is.NoErr(c.Update(ctx, coll, database.StringID("alice"), database.Update{Set: map[string]any{"big": int64(1) << 60}}, nil))
	rep := env.Raw(t, database.SubjectUpdate, fmt.Sprintf(`{"collection":%q,"id":"alice","update":{"$inc":{"big":1}}}`, coll))
	is.True(rep.Success)
	var exact map[string]json.RawMessage
	is.NoErr(json.Unmarshal(rep.Data, &exact))
	is.Equal(string(exact["big"]), "1152921504606846977")
	// upsert of an integer id moves the sequence
	is.NoErr(c.Upsert(ctx, coll, database.IntID(7), database.Update{Inc: map[string]any{"n": 1}}, nil))
	id, err := c.Set(ctx, coll, database.ID{}, map[string]any{})
	is.NoErr(err)
	is.Equal(id, database.IntID(8))

	// refusals
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"name": 1}}, nil)
	is.True(errors.Is(err, database.ErrValidation))
	is.True(strings.Contains(err.Error(), "name"))
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"points": "x"}}, nil)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{}, nil)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"a": 1}, Set: map[string]any{"a": 2}}, nil)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"big": int64(1) << 62}}, nil)
	is.NoErr(err)
	err = c.Update(ctx, coll, database.StringID("alice"), database.Update{Inc: map[string]any{"big": int64(1) << 62}}, nil)
	is.True(errors.Is(err, database.ErrValidation)) // overflow
	is.NoErr(c.Get(ctx, coll, database.StringID("alice"), &out))
	is.Equal(out["points"], 3.0) // failed updates changed nothing
}

func testConcurrentInc(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	coll := Unique("race")
	const writers, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- env.Client.Upsert(ctx, coll, database.StringID("counter"),
					database.Update{Inc: map[string]any{"n": 1, "w": w}}, nil)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		is.NoErr(err)
	}
	var out struct{ N, W int }
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("counter"), &out))
	is.Equal(out.N, writers*each)
	is.Equal(out.W, each*writers*(writers-1)/2)
}

func testConcurrentAssign(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	coll := Unique("assign")
	const n = 40
	ids := make(chan database.ID, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := env.Client.Set(ctx, coll, database.ID{}, map[string]any{})
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[database.ID]bool{}
	for id := range ids {
		is.True(!seen[id])
		seen[id] = true
		v, _ := id.Int()
		is.True(v >= 1 && v <= n)
	}
	is.Equal(len(seen), n)
}

const userSchema = `{
	"type": "object",
	"properties": {
		"name": {"type": "string", "minLength": 1},
		"age": {"type": "integer", "minimum": 0}
	},
	"required": ["name"]
}`

func testSchema(t *testing.T, env *Env) {
	is := is.New(t)
	ctx := context.Background()
	c := env.Client
	coll := Unique("users")
	is.NoErr(c.RegisterSchema(ctx, coll, userSchema))
	_, err := c.Set(ctx, coll, database.ID{}, map[string]any{"name": "ann", "age": 3})
	is.NoErr(err)
	_, err = c.Set(ctx, coll, database.ID{}, map[string]any{"name": "ann", "age": "three"})
	is.True(errors.Is(err, database.ErrValidation))
	is.True(strings.Contains(err.Error(), "age"))
	_, err = c.Set(ctx, coll, database.ID{}, map[string]any{"age": 3})
	is.True(errors.Is(err, database.ErrValidation))
	is.True(strings.Contains(err.Error(), "name"))
	err = c.Update(ctx, coll, database.IntID(1), database.Update{Inc: map[string]any{"age": -10}}, nil)
	is.True(errors.Is(err, database.ErrValidation))
	is.True(strings.Contains(err.Error(), "age"))
	err = c.Upsert(ctx, coll, database.IntID(99), database.Update{Inc: map[string]any{"age": 1}}, nil)
	is.True(errors.Is(err, database.ErrValidation)) // the new document lacks name
	err = c.Get(ctx, coll, database.IntID(99), &map[string]any{})
	is.True(errors.Is(err, database.ErrNotFound)) // and was not created

	rep := env.Raw(t, database.SubjectSet, fmt.Sprintf(`{"collection":%q,"data":{"name":""}}`, coll))
	is.True(!rep.Success)
	is.Equal(rep.Code, database.CodeValidation)
	is.True(strings.Contains(rep.Error, "name"))

	// bad schemas
	err = c.RegisterSchema(ctx, coll, `{"type": 12}`)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	err = c.RegisterSchema(ctx, coll, `{"$ref": "file:///etc/passwd"}`)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	err = c.RegisterSchema(ctx, coll, `[1]`)
	is.True(errors.Is(err, database.ErrInvalidRequest))
	rep = env.Raw(t, database.SubjectSchemaRegister, fmt.Sprintf(`{"collection":%q,"schema":{"type":`, coll))
	is.Equal(rep.Code, database.CodeMalformed)
	// the good one still applies
	_, err = c.Set(ctx, coll, database.ID{}, map[string]any{"age": 3})
	is.True(errors.Is(err, database.ErrValidation))

	// removing the schema
	is.NoErr(c.RegisterSchema(ctx, coll, nil))
	_, err = c.Set(ctx, coll, database.ID{}, map[string]any{"age": "any"})
	is.NoErr(err)
}

func testRestart(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	coll := Unique("persist")
	is.NoErr(env.Client.RegisterSchema(ctx, coll, userSchema))
	id, err := env.Client.Set(ctx, coll, database.ID{}, map[string]any{"name": "kept"})
	is.NoErr(err)
	env.Restart(t)
	var m map[string]any
	is.NoErr(env.Client.Get(ctx, coll, id, &m))
	is.Equal(m["name"], "kept")
	_, err = env.Client.Set(ctx, coll, database.ID{}, map[string]any{"age": 1})
	is.True(errors.Is(err, database.ErrValidation)) // the schema survived
	id2, err := env.Client.Set(ctx, coll, database.ID{}, map[string]any{"name": "next"})
	is.NoErr(err)
	is.Equal(id2, database.IntID(2)) // and so did the sequence
}
