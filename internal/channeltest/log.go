package channeltest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// testHandler writes the bot's warnings and errors to the test's log, and
// nothing after the test ended (the bot may still be stopping).
type testHandler struct {
	t     testing.TB
	level slog.Level
	attrs []slog.Attr
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	defer func() { recover() }() // logging after the test ended panics
	h.t.Log(b.String())
	return nil
}

func (h *testHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *testHandler) WithGroup(string) slog.Handler { return h }
