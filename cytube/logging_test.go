package cytube_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey/cytube"
)

// logRecords keeps every record logged, for tests that check levels.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// at returns the records at level or above, each as its message and attributes.
func (l *logRecords) at(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level < level {
			continue
		}
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		out = append(out, s)
	}
	return out
}

// A bot that cannot reach CyTube says so at warning level at once, and at
// error level, with the last cause, once it has failed for ErrorAfter; it
// keeps retrying, and the retries themselves do not flood the log.
func TestConnectionFailuresAreWarnedThenErrors(t *testing.T) {
	logs := &logRecords{}
	cfg := cytube.Config{
		Server:       "http://127.0.0.1:1", // nothing listens there
		Channel:      "test",
		User:         "bot",
		BackoffMin:   5 * time.Millisecond,
		BackoffMax:   20 * time.Millisecond,
		ErrorAfter:   300 * time.Millisecond,
		ConnectBurst: 1000,
		Logger:       slog.New(logs),
	}
	conn, err := cytube.New(newBus(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer conn.Stop(context.Background())
	deadline := time.Now().Add(wait)
	for len(logs.at(slog.LevelError)) == 0 || conn.Stats().Reconnects < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("no error after %d reconnects; logged: %q", conn.Stats().Reconnects, logs.at(slog.LevelDebug))
		}
		time.Sleep(10 * time.Millisecond)
	}
	warns := logs.at(slog.LevelWarn)
	if len(warns) == 0 || !strings.HasPrefix(warns[0], "WARN") || !strings.Contains(warns[0], "127.0.0.1:1") {
		t.Fatalf("the first failure is not a warning naming the cause: %q", warns)
	}
	errs := logs.at(slog.LevelError)
	if !strings.Contains(errs[0], "127.0.0.1:1") || !strings.Contains(errs[0], "retrying") {
		t.Fatalf("the error does not give the last cause and say it retries: %q", errs[0])
	}
	// Twenty retries and more, but not a line each above debug level.
	if n := len(warns); n > 5 {
		t.Fatalf("%d lines at warning level or above for %d retries: %q", n, conn.Stats().Reconnects, warns)
	}
	if conn.State() != "reconnecting" {
		t.Fatalf("state %q: the connector must keep retrying", conn.State())
	}
}
