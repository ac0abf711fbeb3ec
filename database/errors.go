package database

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the machine-readable error code of a reply.
type Code string

// The error codes of the wire contract.
const (
	// CodeInvalidRequest: a missing or badly typed field, a bad collection
	// name, id, field name or filter operator.
	CodeInvalidRequest Code = "invalid_request"
	// CodeMalformed: the request body is not valid JSON.
	CodeMalformed Code = "malformed"
	// CodeNotFound: no document with that id.
	CodeNotFound Code = "not_found"
	// CodeValidation: the write breaks the collection's JSON Schema, or an
	// update does not fit the document (for example $inc on a string).
	CodeValidation Code = "validation_failed"
	// CodeTooLarge: the document exceeds the configured size limit.
	CodeTooLarge Code = "too_large"
	// CodeUnavailable: the service is shutting down or the database cannot
	// be reached (the client also uses it when nobody answers).
	CodeUnavailable Code = "unavailable"
	// CodeInternal: anything else; the service logs the cause.
	CodeInternal Code = "internal"
)

// Sentinel errors, one per code. Every error from a Client (and every
// *Error) matches one of them with errors.Is.
var (
	ErrInvalidRequest = errors.New("database: invalid request")
	// ErrMalformed also matches ErrInvalidRequest.
	ErrMalformed   = fmt.Errorf("%w: malformed JSON", ErrInvalidRequest)
	ErrNotFound    = errors.New("database: not found")
	ErrValidation  = errors.New("database: validation failed")
	ErrTooLarge    = errors.New("database: too large")
	ErrUnavailable = errors.New("database: unavailable")
	ErrInternal    = errors.New("database: internal error")
)

// Err returns the sentinel error of a code (ErrInternal for unknown codes).
func (c Code) Err() error {
	switch c {
	case CodeInvalidRequest:
		return ErrInvalidRequest
	case CodeMalformed:
		return ErrMalformed
	case CodeNotFound:
		return ErrNotFound
	case CodeValidation:
		return ErrValidation
	case CodeTooLarge:
		return ErrTooLarge
	case CodeUnavailable:
		return ErrUnavailable
	}
	return ErrInternal
}

// CodeOf returns the code for err: the code of an *Error in its chain, the
// code whose sentinel it wraps, or CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	for _, c := range []Code{CodeMalformed, CodeInvalidRequest, CodeNotFound, CodeValidation, CodeTooLarge, CodeUnavailable} {
		if errors.Is(err, c.Err()) {
			return c
		}
	}
	return CodeInternal
}

// Error is an error reply from the service (or, with CodeUnavailable, the
// failure to get one). errors.Is(err, ErrNotFound) and friends work on it.
type Error struct {
	// Op is the operation, such as "get".
	Op string
	// Code is the reply's code.
	Code Code
	// Message is the reply's error text.
	Message string
	// Err is an underlying transport error, if any.
	Err error
}

// Error reads "database: <op>: <what>: <detail>", each part said once: the
// service's message often starts with the same sentinel text.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	kind := strings.TrimPrefix(e.Code.Err().Error(), "database: ") // "invalid request"
	if e.Code.Err() == ErrInternal && e.Code != CodeInternal {
		kind = string(e.Code) // a code this client does not know
	}
	msg = strings.TrimPrefix(msg, "database: ")
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, kind), ": ")
	if msg == "" {
		return fmt.Sprintf("database: %s: %s", e.Op, kind)
	}
	return fmt.Sprintf("database: %s: %s: %s", e.Op, kind, msg)
}

// Is makes errors.Is(err, sentinel) work for the error's code.
func (e *Error) Is(target error) bool {
	s := e.Code.Err()
	return target == s || (s == ErrMalformed && target == ErrInvalidRequest)
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }
