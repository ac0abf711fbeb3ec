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
