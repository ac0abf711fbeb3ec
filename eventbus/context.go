package eventbus

import (
	"context"

	"github.com/nats-io/nuid"
)

type ctxKey int

const correlationKey ctxKey = iota

// WithCorrelationID returns a context that makes every Publish and Request
// made with it carry id. Handlers receive such a context already, so what a
// handler publishes is tied to the event it handles.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// CorrelationID returns the correlation id carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// NewCorrelationID returns a fresh, unique correlation id.
func NewCorrelationID() string { return nuid.Next() }
