package roseytest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// maxProblems bounds the warnings and errors kept to show with a failed
// expectation.
const maxProblems = 20

// testLog is a slog.Handler that writes the bot's records to t.Log and
// keeps the warnings and errors since the last met expectation, so a
// failure can show why. Once the test is over it drops records: t.Log
// panics then, and a plugin goroutine may still be winding down.
type testLog struct {
	t     testing.TB
	level slog.Leveler
	text  *slog.TextHandler // formats a record into buf
	buf   *bytes.Buffer
	state *logState
}

type logState struct {
	mu       sync.Mutex // held while formatting and writing
	over     bool
	problems []string
}

func newTestLog(t testing.TB, level slog.Leveler) *testLog {
	buf := &bytes.Buffer{}
	return &testLog{t: t, level: level, buf: buf, state: &logState{},
		text: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime})}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{} // t.Log has its own
	}
	return a
}

func (l *testLog) Enabled(_ context.Context, level slog.Level) bool {
	return level >= l.level.Level()
}

func (l *testLog) Handle(ctx context.Context, r slog.Record) error {
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	if l.state.over {
		return nil
	}
	l.buf.Reset()
	if err := l.text.Handle(ctx, r); err != nil {
		return err
	}
	line := strings.TrimSuffix(l.buf.String(), "\n")
	l.t.Log(line)
	if r.Level >= slog.LevelWarn {
		if len(l.state.problems) == maxProblems {
			l.state.problems = l.state.problems[1:]
		}
		l.state.problems = append(l.state.problems, line)
	}
	return nil
}

func (l *testLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *l
	c.text = l.text.WithAttrs(attrs).(*slog.TextHandler)
	return &c
}

func (l *testLog) WithGroup(name string) slog.Handler {
	c := *l
	c.text = l.text.WithGroup(name).(*slog.TextHandler)
	return &c
}

// end stops writing to the test's log.
func (l *testLog) end() {
	l.state.mu.Lock()
	l.state.over = true
	l.state.mu.Unlock()
}

// takeProblems returns the warnings and errors logged since the last call.
func (l *testLog) takeProblems() []string {
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	p := l.state.problems
	l.state.problems = nil
	return p
}

// pendingTestLog marks the default Logger until New knows the test: an
// option may replace it, or set its level (WithLogLevel).
type pendingTestLog struct {
	slog.Handler
	level slog.Level
}

func newTestLogLevel(level slog.Level) *pendingTestLog {
	return &pendingTestLog{Handler: slog.DiscardHandler, level: level}
}
