package dbtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
)

// A test of code that stores things gets a real service on SQLite, reached
// over a real NATS server, with dbtest.Start. In a test file the function
// takes the *testing.T it is given; here a small stand-in plays that part
// so the example can run.
func ExampleStart() {
	dir, _ := os.MkdirTemp("", "dbtest-example")
	defer os.RemoveAll(dir)
	run(func(t testing.TB) {
		env := dbtest.Start(t, dbservice.Config{Dir: dir})
		ctx := context.Background()
		id, err := env.Client.Set(ctx, "quotes", database.ID{}, map[string]string{"text": "Hello!"})
		if err != nil {
			t.Fatalf("set: %v", err)
		}
		var q struct{ Text string }
		if err := env.Client.Get(ctx, "quotes", id, &q); err != nil {
			t.Fatalf("get: %v", err)
		}
		fmt.Println(id, q.Text)

		env.Restart(t) // the data survives a restart of the service
		n, err := env.Client.Count(ctx, "quotes", nil)
		fmt.Println(n, err)
	})
	// Output:
	// 1 Hello!
	// 1 <nil>
}

// run calls test with a stand-in for *testing.T offering what dbtest uses.
func run(test func(testing.TB)) {
	t := &standIn{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		test(t)
	}()
	<-done
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

type standIn struct {
	testing.TB // only to satisfy the interface; the methods used are below
	cleanups   []func()
}

func (t *standIn) Helper()           {}
func (t *standIn) Cleanup(fn func()) { t.cleanups = append(t.cleanups, fn) }
func (t *standIn) Fatalf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	runtime.Goexit()
}
