package roseytest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/roseytest"
)

// captured is a testing.TB whose failures and logs are kept for the test
// to read instead of failing it.
type captured struct {
	testing.TB
	mu    sync.Mutex
	logs  []string
	fatal string
}

func (c *captured) Log(args ...any) {
	c.mu.Lock()
	c.logs = append(c.logs, fmt.Sprint(args...))
	c.mu.Unlock()
}

func (c *captured) Logf(format string, args ...any) { c.Log(fmt.Sprintf(format, args...)) }

func (c *captured) Fatalf(format string, args ...any) {
	c.mu.Lock()
	c.fatal = fmt.Sprintf(format, args...)
	c.mu.Unlock()
	runtime.Goexit()
}

func (c *captured) logged() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.logs, "\n")
}

// fails is a plugin whose command fails with an error users do not see.
type fails struct{}

func (fails) Info() plugin.Info {
	return plugin.Info{Name: "fails", Version: "1.0.0", Commands: []plugin.Command{{Name: "fail"}}}
}
func (fails) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("fail", func(context.Context, *plugin.Request) (string, error) {
		return "", errors.New("the flux capacitor is empty")
	})
	return nil
}
func (fails) Stop(context.Context) error { return nil }

// The bot's logs go to the test's log, and an expectation that fails shows
// the plugin's error next to what came instead.
func TestFailedExpectationShowsThePluginsError(t *testing.T) {
	is := is.New(t)
	ct := &captured{TB: t}
	h := roseytest.New(ct, roseytest.WithPlugins(fails{}))
	h.Say("alice", "!fail")
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Expect("ok")
	}()
	<-done
	ct.mu.Lock()
	fatal := ct.fatal
	ct.mu.Unlock()
	is.True(strings.Contains(fatal, `want a chat reply containing "ok"`))
	if !strings.Contains(fatal, "the flux capacitor is empty") {
		t.Fatalf("the failure does not show the plugin's error:\n%s", fatal)
	}
	if !strings.Contains(ct.logged(), "the flux capacitor is empty") {
		t.Fatalf("the bot's log did not reach the test's log:\n%s", ct.logged())
	}
}
