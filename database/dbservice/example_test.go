package dbservice_test

import (
	"context"
	"fmt"
	"os"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// ExampleStart runs the service on SQLite in a data directory.
func ExampleStart() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-db")
	defer os.RemoveAll(dir)
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("rosey"))
	defer bus.Close(ctx)

	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	info := svc.Info()
	fmt.Println(info.Name, len(info.Endpoints), "endpoints")
	n, _ := database.NewClient(bus).Count(ctx, "quotes", nil)
	fmt.Println(n)
	fmt.Println(svc.Stop(ctx))
	// Output:
	// database 14 endpoints
	// 0
	// <nil>
}

// ExampleConfig_Validate names the field at fault.
func ExampleConfig_Validate() {
	fmt.Println(dbservice.Config{URL: "mysql://db"}.Validate())
	fmt.Println(dbservice.Config{Dir: "data", Synchronous: "off"}.Validate())
	// Output:
	// dbservice: invalid config: url: scheme "mysql" is not supported (want postgres:// or postgresql://)
	// dbservice: invalid config: synchronous: "off" (want full or normal)
}

// ExampleStore_WriteStats shows the writer's counters: writes made one
// after the other each commit alone, since nothing waits to fill a group;
// under many writers at once Writes grows faster than Commits.
func ExampleStore_WriteStats() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-db")
	defer os.RemoveAll(dir)
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	for i := range 3 {
		_, _ = st.Set(ctx, database.SetRequest{Collection: "notes", ID: database.IntID(int64(i + 1)), Data: []byte(`{"n":1}`)})
	}
	ws := st.WriteStats()
	fmt.Println(ws.Writes, "writes in", ws.Commits, "commits,", ws.Pending, "pending")
	// Output:
	// 3 writes in 3 commits, 0 pending
}
