package dbtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/uptrace/bun"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
)

// patience bounds every wait below: far longer than anything takes on a
// loaded machine, only there so that a hang fails instead of blocking.
const patience = 60 * time.Second

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdWriter opens a transaction on the store's write handle that makes
// the writer wait, like a long batch would: on SQLite it holds the
// writer's only connection (and the database's write lock); on PostgreSQL
// it locks the document coll/"gate", which the caller's first write then
// updates. release ends it, rolling back.
func holdWriter(t *testing.T, env *Env, coll string) (tx bun.Tx, release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := env.Service.Store().DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("hold: begin: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE rosey_documents SET updated_at = updated_at + 1 WHERE collection = ? AND id = ?", coll, "gate"); err != nil {
		_ = tx.Rollback()
		t.Fatalf("hold: lock: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(release)
	return tx, release
}

// pending is the number of writes the service took and has not answered.
func pending(env *Env) int64 { return env.Service.Store().WriteStats().Pending }

// testGroupCommit: writes that arrive while the writer is busy are
// committed together, each acknowledged only after that commit, and all
// are there after a restart.
func testGroupCommit(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	coll := Unique("group")
	_, err := env.Client.Set(ctx, coll, database.StringID("gate"), map[string]any{"n": 0})
	is.NoErr(err)
	is.Equal(pending(env), int64(0))

	_, release := holdWriter(t, env, coll)
	// The first write waits for the held transaction; every other one
	// arrives meanwhile and queues behind it.
	const writers = 64
	errs := make(chan error, writers)
	acked := make(chan struct{}, writers)
	send := func(fn func() error) {
		go func() {
			err := fn()
			acked <- struct{}{}
			errs <- err
		}()
	}
	send(func() error {
		return env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"n": 1}}, nil)
	})
	waitFor(t, "the first write to reach the writer", func() bool { return pending(env) == 1 })
	before := env.Service.Store().WriteStats()
	for i := 1; i < writers; i++ {
		switch i % 3 {
		case 0:
			send(func() error {
				_, err := env.Client.Set(ctx, coll, database.StringID(fmt.Sprintf("s%d", i)), map[string]any{"i": i})
				return err
			})
		case 1:
			send(func() error {
				return env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"n": 1}}, nil)
			})
		case 2:
			send(func() error {
				_, err := env.Client.Set(ctx, coll, database.ID{}, map[string]any{"i": i})
				return err
			})
		}
	}
	waitFor(t, "every write to be taken", func() bool { return pending(env) == writers })
	is.Equal(len(acked), 0) // nothing is acknowledged before its commit
	release()
	for range writers {
		select {
		case err := <-errs:
			is.NoErr(err)
		case <-time.After(patience):
			t.Fatal("a write was never answered")
		}
	}
	after := env.Service.Store().WriteStats()
	is.Equal(after.Writes-before.Writes, int64(writers))
	is.Equal(after.Commits-before.Commits, int64(1)) // all in one transaction

	env.Restart(t)
	var gate struct{ N int }
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("gate"), &gate))
	is.Equal(gate.N, 1+writers/3) // the first and every i%3 == 1
	n, err := env.Client.Count(ctx, coll, nil)
	is.NoErr(err)
	is.Equal(n, int64(1+writers/3+writers/3)) // gate, the s<i>, the assigned ids
	for i := 3; i < writers; i += 3 {
		var doc struct{ I int }
		is.NoErr(env.Client.Get(ctx, coll, database.StringID(fmt.Sprintf("s%d", i)), &doc))
		is.Equal(doc.I, i)
	}
}

// testManyWriters: many writers at once, each waiting for its answer
// before the next write, all acknowledged and all there after a restart.
func testManyWriters(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	coll := Unique("many")
	const writers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	ids := make(chan database.ID, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id, err := env.Client.Set(ctx, coll, database.ID{}, map[string]any{"w": w, "i": i})
				errs <- err
				ids <- id
				errs <- env.Client.Upsert(ctx, coll, database.StringID("total"), database.Update{Inc: map[string]any{"n": 1}}, nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		is.NoErr(err)
	}
	env.Restart(t)
	seen := map[database.ID]bool{}
	for id := range ids {
		is.True(!seen[id]) // every assigned id is new
		seen[id] = true
		var doc map[string]any
		is.NoErr(env.Client.Get(ctx, coll, id, &doc))
	}
	var total struct{ N int }
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("total"), &total))
	is.Equal(total.N, writers*each)
}

// failOn makes the database itself refuse to store the documents of coll
// whose id starts with prefix (a trigger raising an error), so a write can
// fail inside a batch after every check of the service passed. It is
// removed when the test ends.
func failOn(t *testing.T, env *Env, coll, prefix string) {
	t.Helper()
	ctx := context.Background()
	db := env.Service.Store().DB()
	name := "rosey_test_fail_" + coll[len(coll)-8:]
	var stmts, undo []string
	if env.Service.Store().Postgres() {
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
				IF NEW.collection = '%s' AND NEW.id LIKE '%s%%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
				RETURN NEW; END $$`, name, coll, prefix),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON rosey_documents FOR EACH ROW EXECUTE FUNCTION %s()`, name, name),
		}
		undo = []string{"DROP TRIGGER IF EXISTS " + name + " ON rosey_documents", "DROP FUNCTION IF EXISTS " + name + "()"}
	} else {
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON rosey_documents
			WHEN NEW.collection = '%s' AND NEW.id LIKE '%s%%' BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`, name, coll, prefix)}
		undo = []string{"DROP TRIGGER IF EXISTS " + name}
	}
	t.Cleanup(func() {
		for _, q := range undo {
			_, _ = db.ExecContext(context.Background(), q)
		}
	})
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("trigger: %v", err)
		}
	}
}

// testBadWriteFailsAlone: in one batch, a write the database refuses and
// writes the service refuses each fail with their own error, while the
// others of the batch are committed.
func testBadWriteFailsAlone(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	coll := Unique("alone")
	_, err := env.Client.Set(ctx, coll, database.StringID("gate"), map[string]any{"n": 0, "s": "text"})
	is.NoErr(err)
	_, err = env.Client.Set(ctx, coll, database.StringID("gone"), map[string]any{})
	is.NoErr(err)
	failOn(t, env, coll, "bad")

	_, release := holdWriter(t, env, coll)
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 16)
	send := func(name string, fn func() error) {
		go func() { results <- result{name, fn()} }()
	}
	set := func(id string) func() error {
		return func() error {
			_, err := env.Client.Set(ctx, coll, database.StringID(id), map[string]any{"id": id})
			return err
		}
	}
	send("gate", func() error {
		return env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"n": 1}}, nil)
	})
	waitFor(t, "the first write to reach the writer", func() bool { return pending(env) == 1 })
	send("good1", set("good1"))
	send("bad", set("bad"))
	send("missing", func() error {
		return env.Client.Update(ctx, coll, database.StringID("nobody"), database.Update{Inc: map[string]any{"n": 1}}, nil)
	})
	send("inc-string", func() error {
		return env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"s": 1}}, nil)
	})
	send("good2", set("good2"))
	send("delete", func() error {
		deleted, err := env.Client.Delete(ctx, coll, database.StringID("gone"))
		if err == nil && !deleted {
			err = errors.New("delete: not deleted")
		}
		return err
	})
	const sent = 7
	waitFor(t, "every write to be taken", func() bool { return pending(env) == sent })
	before := env.Service.Store().WriteStats()
	release()
	got := map[string]error{}
	for range sent {
		select {
		case r := <-results:
			got[r.name] = r.err
		case <-time.After(patience):
			t.Fatal("a write was never answered")
		}
	}
	after := env.Service.Store().WriteStats()
	is.True(after.Commits > before.Commits)
	is.NoErr(got["gate"])
	is.NoErr(got["good1"])
	is.NoErr(got["good2"])
	is.NoErr(got["delete"])
	is.True(errors.Is(got["bad"], database.ErrInternal)) // the database's refusal, the details logged
	is.True(errors.Is(got["missing"], database.ErrNotFound))
	is.True(errors.Is(got["inc-string"], database.ErrValidation))

	var gate struct {
		N int
		S string
	}
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("gate"), &gate))
	is.Equal(gate.N, 1)      // the first update, once, even though the batch was redone
	is.Equal(gate.S, "text") // the refused $inc changed nothing
	var doc map[string]any
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("good1"), &doc))
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("good2"), &doc))
	is.True(errors.Is(env.Client.Get(ctx, coll, database.StringID("gone"), &doc), database.ErrNotFound))
	is.True(errors.Is(env.Client.Get(ctx, coll, database.StringID("bad"), &doc), database.ErrNotFound))
	// the writer goes on
	_, err = env.Client.Set(ctx, coll, database.StringID("after"), map[string]any{})
	is.NoErr(err)
}

// testReadsDuringWrite: reads answer while a write transaction is open
// and writes wait behind it, and they see the last committed state.
func testReadsDuringWrite(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	env := Start(t, cfg)
	coll := Unique("reads")
	for i := range 5 {
		_, err := env.Client.Set(ctx, coll, database.IntID(int64(i+1)), map[string]any{"i": i})
		is.NoErr(err)
	}
	_, err := env.Client.Set(ctx, coll, database.StringID("gate"), map[string]any{"n": 0})
	is.NoErr(err)

	tx, release := holdWriter(t, env, coll)
	// A change the open transaction made is not seen before it commits.
	_, err = tx.ExecContext(ctx, "UPDATE rosey_documents SET data = ? WHERE collection = ? AND id = ?", `{"n":99}`, coll, "gate")
	is.NoErr(err)
	written := make(chan error, 1)
	go func() {
		written <- env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"n": 1}}, nil)
	}()
	waitFor(t, "the write to reach the writer", func() bool { return pending(env) == 1 })

	// If a read waited for the writer, these would block until patience
	// runs out: the write transaction ends only after them.
	var gate struct{ N int }
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("gate"), &gate))
	is.Equal(gate.N, 0)
	n, err := env.Client.Count(ctx, coll, nil)
	is.NoErr(err)
	is.Equal(n, int64(6))
	res, err := env.Client.Query(ctx, database.QueryRequest{Collection: coll, Filter: database.Filter{"i": map[string]any{"$gte": 3}}})
	is.NoErr(err)
	is.Equal(res.Total, int64(2))
	is.Equal(len(written), 0) // the write still waits
	is.Equal(pending(env), int64(1))

	release()
	is.NoErr(<-written)
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("gate"), &gate))
	is.Equal(gate.N, 1)
}

// testManyBadWrites: a batch with many writes the database refuses among
// good ones: each bad one fails, every good one is stored.
func testManyBadWrites(t *testing.T, cfg dbservice.Config) {
	is := is.New(t)
	ctx := context.Background()
	env := Start(t, cfg)
	coll := Unique("manybad")
	_, err := env.Client.Set(ctx, coll, database.StringID("gate"), map[string]any{"n": 0})
	is.NoErr(err)
	failOn(t, env, coll, "bad")

	_, release := holdWriter(t, env, coll)
	errs := make(map[string]chan error)
	send := func(id string, fn func() error) {
		ch := make(chan error, 1)
		errs[id] = ch
		go func() { ch <- fn() }()
	}
	send("gate", func() error {
		return env.Client.Update(ctx, coll, database.StringID("gate"), database.Update{Inc: map[string]any{"n": 1}}, nil)
	})
	waitFor(t, "the first write to reach the writer", func() bool { return pending(env) == 1 })
	const each = 10
	for i := range each {
		for _, kind := range []string{"bad", "good"} {
			id := fmt.Sprintf("%s%d", kind, i)
			send(id, func() error {
				_, err := env.Client.Set(ctx, coll, database.StringID(id), map[string]any{})
				return err
			})
		}
	}
	waitFor(t, "every write to be taken", func() bool { return pending(env) == 1+2*each })
	release()
	for id, ch := range errs {
		select {
		case err := <-ch:
			if id[:3] == "bad" {
				is.True(errors.Is(err, database.ErrInternal))
			} else {
				is.NoErr(err)
			}
		case <-time.After(patience):
			t.Fatalf("%s was never answered", id)
		}
	}
	n, err := env.Client.Count(ctx, coll, nil)
	is.NoErr(err)
	is.Equal(n, int64(1+each)) // the gate and the good ones
	var gate struct{ N int }
	is.NoErr(env.Client.Get(ctx, coll, database.StringID("gate"), &gate))
	is.Equal(gate.N, 1)
}
