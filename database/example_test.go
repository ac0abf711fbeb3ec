package database_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

type Quote struct {
	Text string `json:"text"`
	User string `json:"user"`
}

// Example stores, reads, queries and updates documents through the
// database service over an in-process NATS server.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Stop(ctx)

	db := database.NewClient(bus)
	id, _ := db.Set(ctx, "quotes", database.ID{}, Quote{Text: "Hello, world!", User: "alice"})
	fmt.Println("Quote #" + id.String())

	var q Quote
	_ = db.Get(ctx, "quotes", id, &q)
	fmt.Println(q.Text)

	_, _ = db.Set(ctx, "quotes", database.ID{}, Quote{Text: "Bye", User: "bob"})
	res, _ := db.Query(ctx, database.QueryRequest{Collection: "quotes", Filter: database.Filter{"user": "bob"}})
	fmt.Println(res.Total, string(res.Items[0].Data))

	var score struct{ Points int }
	_ = db.Upsert(ctx, "scores", database.StringID("alice"), database.Update{Inc: map[string]any{"points": 5}}, &score)
	fmt.Println(score.Points)

	err = db.Get(ctx, "quotes", database.IntID(99), &q)
	fmt.Println(errors.Is(err, database.ErrNotFound))
	// Output:
	// Quote #1
	// Hello, world!
	// 1 {"text":"Bye","user":"bob"}
	// 5
	// true
}

// ExampleClient_RegisterSchema refuses a write that breaks a collection's
// JSON Schema, naming the field.
func ExampleClient_RegisterSchema() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)
	svc, _ := dbservice.Start(ctx, bus, dbservice.Config{Dir: dir})
	defer svc.Stop(ctx)

	db := database.NewClient(bus)
	_ = db.RegisterSchema(ctx, "users", `{"type":"object","properties":{"age":{"type":"integer"}}}`)
	_, err := db.Set(ctx, "users", database.StringID("ann"), map[string]any{"age": "three"})
	fmt.Println(errors.Is(err, database.ErrValidation))
	fmt.Println(database.CodeOf(err))
	// Output:
	// true
	// validation_failed
}

// ExampleClient_Namespace keeps two plugins' collections of the same name
// apart: each namespace (database.<namespace>.<op>) is its own.
func ExampleClient_Namespace() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)
	svc, _ := dbservice.Start(ctx, bus, dbservice.Config{Dir: dir})
	defer svc.Stop(ctx)

	quotes := database.NewClient(bus).Namespace("quote-db") // what quote-db's Host.DB() is
	trivia := database.NewClient(bus).Namespace("trivia")
	_, _ = quotes.Set(ctx, "notes", database.StringID("n"), map[string]string{"from": "quote-db"})
	_, _ = trivia.Set(ctx, "notes", database.StringID("n"), map[string]string{"from": "trivia"})
	var note map[string]string
	_ = quotes.Get(ctx, "notes", database.StringID("n"), &note)
	fmt.Println(note["from"])
	n, _ := trivia.Count(ctx, "notes", nil)
	fmt.Println(n)
	// Output:
	// quote-db
	// 1
}

// ExampleID shows how ids travel: integers as JSON numbers, strings as
// JSON strings.
func ExampleID() {
	fmt.Println(database.IntID(42).MarshalJSON())
	b, _ := database.StringID("alice").MarshalJSON()
	fmt.Println(string(b))
	// Output:
	// [52 50] <nil>
	// "alice"
}

// ExampleClient_Query_noTotal reads the newest quote (the highest id) as a
// page alone: without the total, the service walks an index and stops at
// the limit instead of counting the whole collection.
func ExampleClient_Query_noTotal() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)
	svc, _ := dbservice.Start(ctx, bus, dbservice.Config{Dir: dir})
	defer svc.Stop(ctx)

	db := database.NewClient(bus)
	for _, text := range []string{"one", "two", "three"} {
		_, _ = db.Set(ctx, "quotes", database.ID{}, Quote{Text: text, User: "alice"})
	}
	res, _ := db.Query(ctx, database.QueryRequest{
		Collection: "quotes",
		Sort:       []string{"-" + database.SortByID},
		Limit:      1,
		NoTotal:    true,
	})
	fmt.Println(res.Items[0].ID, string(res.Items[0].Data))
	fmt.Println(res.Total == database.NotCounted)
	// Output:
	// 3 {"text":"three","user":"alice"}
	// true
}
