package dbservice_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
)

const childEnv = "ROSEY_DURABILITY_CHILD_DIR"

// TestDurabilityKill9 runs the service in a child process that prints the
// id of every write acknowledged over NATS, kills it with SIGKILL
// mid-stream, reopens the database and finds every acknowledged write.
func TestDurabilityKill9(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		durabilityChild(t, dir)
		return
	}
	is := is.New(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	is.NoErr(err)
	is.NoErr(cmd.Start())
	const n = 300
	var acked []int64
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		id, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			continue // test framework output
		}
		acked = append(acked, id)
		if len(acked) == n && !killed {
			is.NoErr(cmd.Process.Kill()) // SIGKILL: no deferred code, no checkpoint
			killed = true
		}
	}
	_ = cmd.Wait()
	is.True(killed)
	is.True(len(acked) >= n) // lines already in the pipe count too

	env := dbtest.Start(t, dbservice.Config{Dir: dir})
	ctx := context.Background()
	for _, id := range acked {
		var doc struct{ N int64 }
		is.NoErr(env.Client.Get(ctx, "durable", database.IntID(id), &doc))
		is.Equal(doc.N, id)
	}
}

func durabilityChild(t *testing.T, dir string) {
	env := dbtest.Start(t, dbservice.Config{Dir: dir})
	ctx := context.Background()
	for i := int64(1); i <= 100000; i++ {
		id, err := env.Client.Set(ctx, "durable", database.ID{}, map[string]any{"n": i, "pad": "some text to make the page dirty"})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := id.Int(); n != i {
			t.Fatalf("assigned %d, want %d", n, i)
		}
		fmt.Println(i) // the acknowledgement: only after the reply arrived
	}
}

const concurrentChildEnv = "ROSEY_DURABILITY_CONCURRENT_CHILD_DIR"

// TestDurabilityKill9Concurrent is TestDurabilityKill9 with 32 writers at
// once, so that the writes are committed in groups: every write
// acknowledged before SIGKILL is there after it.
func TestDurabilityKill9Concurrent(t *testing.T) {
	if dir := os.Getenv(concurrentChildEnv); dir != "" {
		durabilityConcurrentChild(t, dir)
		return
	}
	is := is.New(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityKill9Concurrent$", "-test.count=1")
	cmd.Env = append(os.Environ(), concurrentChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	is.NoErr(err)
	is.NoErr(cmd.Start())
	const n = 1000
	var acked []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "acked ") {
			continue // test framework output
		}
		acked = append(acked, strings.TrimPrefix(line, "acked "))
		if len(acked) == n && !killed {
			is.NoErr(cmd.Process.Kill())
			killed = true
		}
	}
	_ = cmd.Wait()
	is.True(killed)
	is.True(len(acked) >= n)

	env := dbtest.Start(t, dbservice.Config{Dir: dir})
	ctx := context.Background()
	for _, id := range acked {
		var doc struct{ ID string }
		is.NoErr(env.Client.Get(ctx, "durable", database.StringID(id), &doc))
		is.Equal(doc.ID, id)
	}
}

func durabilityConcurrentChild(t *testing.T, dir string) {
	env := dbtest.Start(t, dbservice.Config{Dir: dir})
	ctx := context.Background()
	var mu sync.Mutex // one line at a time on stdout
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := 0; i < 100000; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := env.Client.Set(ctx, "durable", database.StringID(id), map[string]any{"id": id, "pad": "some text to make the page dirty"}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Println("acked", id) // only after the reply arrived
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
