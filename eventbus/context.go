package eventbus

import (
	"context"

	"github.com/nats-io/nuid"
)

type ctxKey int

const correlationKey ctxKey = iota

// correlated is a context carrying a correlation id. It is its own type
// rather than context.WithValue because every handled event makes one:
// this costs one allocation instead of two, and CorrelationID finds the id
// without walking the chain when it is the outermost context.
type correlated struct {
	context.Context
	id string
}

func (c *correlated) Value(key any) any {
	if key == any(correlationKey) {
		return c.id
	}
	return c.Context.Value(key)
}

func (c *correlated) String() string { return "eventbus.WithCorrelationID(" + c.id + ")" }

// WithCorrelationID returns a context that makes every Publish and Request
// made with it carry id. Handlers receive such a context already, so what a
// handler publishes is tied to the event it handles.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return &correlated{Context: ctx, id: id}
}

// CorrelationID returns the correlation id carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	if c, ok := ctx.(*correlated); ok {
		return c.id
	}
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// NewCorrelationID returns a fresh, unique correlation id.
func NewCorrelationID() string { return nuid.Next() }
