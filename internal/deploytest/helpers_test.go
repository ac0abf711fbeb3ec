// Package deploytest_test tests deployment layouts from the outside, with
// real parts: external plugins on their own NATS connections under
// least-privilege users (docs/examples/least-privilege.conf), and several
// copies of one plugin sharing its commands. It has only tests.
package deploytest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/roseytest"
)

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// instances returns how many copies of the plugin name the bot knows.
func instances(h *roseytest.Harness, name string) int {
	e, ok := h.Bot().Plugins().Directory().Get(name)
	if !ok {
		return 0
	}
	return len(e.Instances)
}

// counter is a plugin whose !count command counts, per key, in the bot's
// database, and whose !tell command says its text in chat by publishing
// cytube.send.chat itself. Each command it handles is recorded under copy,
// so a test can see which copy answered and that none answered twice.
type counter struct {
	name string
	copy string
	log  *handled
}

func (c *counter) Info() plugin.Info {
	return plugin.Info{
		Name:        c.name,
		Version:     "1.0.0",
		Description: "Counts and tells",
		Commands: []plugin.Command{
			{Name: "count", Usage: "<key>", Description: "Counts one more for key"},
			{Name: "tell", Usage: "<text>", Description: "Says text"},
			{Name: "echo", Usage: "<text>", Description: "Answers text"},
		},
	}
}

func (c *counter) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("count", func(ctx context.Context, req *plugin.Request) (string, error) {
		c.log.add(c.copy, req.Text)
		var doc struct {
			N int `json:"n"`
		}
		if err := h.DB().Upsert(ctx, "counts", database.StringID(req.Text), database.Update{Inc: map[string]any{"n": 1}}, &doc); err != nil {
			return "", fmt.Errorf("count: %w", err)
		}
		return fmt.Sprintf("%s=%d", req.Text, doc.N), nil
	})
	h.Handle("tell", func(ctx context.Context, req *plugin.Request) (string, error) {
		c.log.add(c.copy, req.Text)
		return "", h.Say(ctx, "told: "+req.Text)
	})
	h.Handle("echo", func(_ context.Context, req *plugin.Request) (string, error) {
		c.log.add(c.copy, req.Text)
		return "echo: " + req.Text, nil
	})
	return nil
}

func (c *counter) Stop(context.Context) error { return nil }

// handled records which copy handled which command text.
type handled struct {
	mu     sync.Mutex
	byText map[string][]string // text -> copies that handled it
	byCopy map[string]int
}

func newHandled() *handled {
	return &handled{byText: map[string][]string{}, byCopy: map[string]int{}}
}

func (l *handled) add(copy, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byText[text] = append(l.byText[text], copy)
	l.byCopy[copy]++
}

func (l *handled) copies(text string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.byText[text]...)
}

func (l *handled) count(copy string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byCopy[copy]
}

// serving is a plugin run with plugin.ServeContext, as an external plugin
// binary runs it, on a bus connection of its own.
type serving struct {
	cancel context.CancelFunc
	done   chan error
}

// serve runs p against the NATS server at url with bus settings from bc.
// The copy is stopped when the test ends if it still runs.
func serve(t *testing.T, p plugin.Plugin, bc eventbus.Config) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- plugin.ServeContext(ctx, p, plugin.ServeConfig{Bus: bc}) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// stop stops the copy gracefully and returns ServeContext's result.
func (s *serving) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("plugin copy did not stop")
		return errors.New("not stopped")
	}
}
