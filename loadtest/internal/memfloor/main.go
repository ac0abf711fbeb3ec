// Command memfloor is the memory floor of a Rosey bot: the least a program
// holds that runs the two heavy parts every bot has, an embedded NATS
// server (listening, as the bot's does, with an in-process client serving
// a request) and SQLite through bun (WAL, a table, a write and a read),
// and nothing else. BenchmarkIdleMemory runs it beside `rosey run`, so the
// figures say what Rosey itself adds.
//
//	memfloor DIR   # prints "ready" on stdout, then idles until SIGINT or SIGTERM
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite"
)

type note struct {
	ID   int64 `bun:",pk,autoincrement"`
	Text string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: memfloor DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "memfloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string) error {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
	if err != nil {
		return err
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("nats server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		return err
	}
	defer nc.Close()
	sub, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if _, err := nc.Request("echo", []byte("hi"), 10*time.Second); err != nil {
		return err
	}

	sqldb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "floor.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()
	if _, err := db.NewCreateTable().Model((*note)(nil)).IfNotExists().Exec(ctx); err != nil {
		return err
	}
	if _, err := db.NewInsert().Model(&note{Text: "hello"}).Exec(ctx); err != nil {
		return err
	}
	var n note
	if err := db.NewSelect().Model(&n).Limit(1).Scan(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return nil
}
