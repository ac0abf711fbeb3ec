package deploytest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/roseytest"
)

// startListeningBot starts a bot whose embedded NATS server listens on a
// random loopback port, for plugin copies on connections of their own.
func startListeningBot(t *testing.T) *roseytest.Harness {
	return roseytest.New(t, roseytest.WithConfig(func(c *rosey.Config) {
		c.NATS.Embedded.NoListen = false
		c.NATS.Embedded.Listen = "127.0.0.1:0"
	}))
}

// TestHACopiesShareCommandsAndStoppingOneLosesNothing runs two copies of
// one plugin, each as an external plugin on its own bus connection. They
// share its commands through the queue group; after one stops gracefully,
// every command is still answered, exactly once, by the other.
func TestHACopiesShareCommandsAndStoppingOneLosesNothing(t *testing.T) {
	is := is.New(t)
	h := startListeningBot(t)
	bc := h.ClientConfig() // the URL and the credentials the bot made
	log := newHandled()
	a := serve(t, &counter{name: "shared", copy: "a", log: log}, bc)
	serve(t, &counter{name: "shared", copy: "b", log: log}, bc)
	waitFor(t, "both copies registered", func() bool { return instances(h, "shared") == 2 })

	// say sends n commands through chat and checks every answer (each
	// user's in the order they spoke), and that each command was handled
	// by exactly one copy.
	say := func(round string, n int) {
		t.Helper()
		for i := range n {
			h.Say(fmt.Sprintf("user%d", i%5), fmt.Sprintf("!echo %s-%d", round, i))
		}
		next := map[int]int{} // user → index of the answer owed next
		for u := range 5 {
			next[u] = u
		}
		for range n {
			r := h.Next()
			var got int
			_, err := fmt.Sscanf(strings.TrimPrefix(r.Message, "echo: "+round+"-"), "%d", &got)
			is.NoErr(err)
			is.Equal(got, next[got%5]) // this user's next answer
			next[got%5] += 5
			is.Equal(len(log.copies(fmt.Sprintf("%s-%d", round, got))), 1) // handled exactly once
		}
	}

	say("both", 60)
	// The queue group spreads the commands (each copy is picked at random:
	// one copy getting all 60 has odds of 2^-59).
	is.True(log.count("a") > 0)
	is.True(log.count("b") > 0)
	is.Equal(log.count("a")+log.count("b"), 60)

	// Stop copy a gracefully. The bot keeps the plugin with one instance.
	is.NoErr(a.stop(t))
	waitFor(t, "copy a forgotten", func() bool { return instances(h, "shared") == 1 })
	before := log.count("a")

	say("after", 50)
	is.Equal(log.count("a"), before) // a is gone: b answered all 50
	is.Equal(log.count("b"), 60-before+50)
	for i := range 50 {
		is.True(slices.Equal(log.copies(fmt.Sprintf("after-%d", i)), []string{"b"}))
	}
}

// TestHAStoppingACopyUnderLoadLosesNothing stops one of two copies while
// commands stream in: every command sent is answered exactly once, by the
// copy that stops (it finishes what it has taken) or by the other.
// (micro's Service.Stop drains the endpoint in the background, so commands
// already delivered reach the stopping copy after Stop returns.)
func TestHAStoppingACopyUnderLoadLosesNothing(t *testing.T) {
	is := is.New(t)
	h := startListeningBot(t)
	bc := h.ClientConfig() // the URL and the credentials the bot made
	log := newHandled()
	a := serve(t, &counter{name: "shared", copy: "a", log: log}, bc)
	serve(t, &counter{name: "shared", copy: "b", log: log}, bc)
	waitFor(t, "both copies registered", func() bool { return instances(h, "shared") == 2 })

	const senders, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	var sent atomic.Int64
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				text := fmt.Sprintf("s%d-%d", s, i)
				req := plugin.Request{Command: "echo", Text: text, User: fmt.Sprintf("user%d", s), Source: plugin.SourceChat}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				rep, err := h.Bus().Request(ctx, "plugin.shared.command", req)
				cancel()
				sent.Add(1)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", text, err)
					continue
				}
				var resp plugin.Response
				if err := rep.Decode(&resp); err != nil || resp.Result != "echo: "+text {
					errs <- fmt.Errorf("%s: reply %+v (%v)", text, resp, err)
				}
			}
		}()
	}
	waitFor(t, "commands flowing", func() bool { return sent.Load() >= senders*each/4 })
	is.NoErr(a.stop(t))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for s := range senders {
		for i := range each {
			is.Equal(len(log.copies(fmt.Sprintf("s%d-%d", s, i))), 1)
		}
	}
}
