package eventbus

import "errors"

// Sentinel errors. Errors returned by the bus wrap one of these, so callers
// can test them with errors.Is.
var (
	// ErrMalformed means a payload was not valid JSON for its target type.
	ErrMalformed = errors.New("eventbus: malformed payload")
	// ErrTimeout means a request got no reply in time.
	ErrTimeout = errors.New("eventbus: request timed out")
	// ErrNoResponders means nobody listens on a request's subject.
	ErrNoResponders = errors.New("eventbus: no responders")
	// ErrClosed means the bus was closed.
	ErrClosed = errors.New("eventbus: closed")
	// ErrInvalidConfig means a Config failed validation.
	ErrInvalidConfig = errors.New("eventbus: invalid config")
	// ErrInvalidSubject means a subject was empty or had bad tokens.
	ErrInvalidSubject = errors.New("eventbus: invalid subject")
)
