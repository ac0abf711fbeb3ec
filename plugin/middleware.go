package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Middleware wraps a command handler, for what every command of a plugin
// (Host.Use) or of a whole bot (ManagerConfig.Middleware) should do alike:
// logging, metrics, extra checks, deadlines. It returns the handler to run
// in next's place; one that does not call next answers for the plugin. A
// panic anywhere in the chain is recovered like one in the handler.
type Middleware func(next CommandHandler) CommandHandler

// chain wraps h in the middleware of each list in turn, the first list's
// first middleware outermost. A middleware that panics while wrapping (or
// returns nil) gives a handler that fails every command, as a handler
// that panics would.
func chain(h CommandHandler, lists ...[]Middleware) (out CommandHandler) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("%w in middleware: %v", errPanic, r)
			out = func(context.Context, *Request) (string, error) { return "", err }
		}
	}()
	for i := len(lists) - 1; i >= 0; i-- {
		for j := len(lists[i]) - 1; j >= 0; j-- {
			if h = lists[i][j](h); h == nil {
				panic("it returned a nil handler")
			}
		}
	}
	return h
}

// LogCommands logs every command once it is answered, at info level (at
// warn level when it failed other than with a user error), with its user,
// source, duration and error.
func LogCommands(log *slog.Logger) Middleware {
	return func(next CommandHandler) CommandHandler {
		return func(ctx context.Context, req *Request) (string, error) {
			start := time.Now()
			text, err := next(ctx, req)
			level := slog.LevelInfo
			if err != nil && !IsUserError(err) {
				level = slog.LevelWarn
			}
			if log.Enabled(ctx, level) {
				attrs := []any{"command", req.Command, "user", req.User, "source", req.Source, "took", time.Since(start)}
				if err != nil {
					attrs = append(attrs, "err", err)
				}
				log.Log(ctx, level, "command", attrs...)
			}
			return text, err
		}
	}
}

// Timeout gives each command's context a deadline d from its start. A
// handler that gives up when its context ends (as database calls do)
// returns then, and the user is told the command took too long; set d
// below the router's timeout for that to be seen.
func Timeout(d time.Duration) Middleware {
	return func(next CommandHandler) CommandHandler {
		return func(ctx context.Context, req *Request) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			text, err := next(ctx, req)
			if err != nil && !IsUserError(err) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "", UserError("⚠️ !%s took too long. Try again later.", req.Command)
			}
			return text, err
		}
	}
}
