// Package fault is the vocabulary of expected failures that domain
// services return and the HTTP edge turns into problem+json: a kind (which
// decides the status), a stable machine code, a human detail, and field
// errors for validation. Anything that is not a *fault.Error is a surprise
// and answers 500 without details.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an expected failure.
type Kind int

// The kinds, each mapped to one HTTP status at the edge.
const (
	KindInvalid              Kind = iota + 1 // 422
	KindBadRequest                           // 400
	KindUnauthorized                         // 401
	KindForbidden                            // 403
	KindNotFound                             // 404
	KindConflict                             // 409
	KindRateLimited                          // 429
	KindUnavailable                          // 503
	KindUnsupportedMediaType                 // 415
	KindBadGateway                           // 502
)

// FieldError is one rejected field; Field is a JSON pointer into the request.
type FieldError struct {
	Field   string
	Message string
	Code    string
}

// Error is an expected failure.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	// RetryAfter, in seconds, for KindRateLimited and KindUnavailable
	// (sent as the Retry-After header).
	RetryAfter int
	cause      error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.cause)
	}
	return e.Code + ": " + e.Detail
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// WithCause keeps err in the chain (for logs) without showing it to clients.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// As extracts a *Error from err's chain.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}

// IsKind reports whether err is a fault of kind k.
func IsKind(err error, k Kind) bool {
	fe, ok := As(err)
	return ok && fe.Kind == k
}

// NotFound says the thing does not exist in the caller's organisation.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Detail: what + " not found"}
}

// Forbidden says the caller's role may not do this.
func Forbidden(detail string) *Error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Detail: detail}
}

// Unauthorized says the credentials are missing or wrong.
func Unauthorized(code, detail string) *Error {
	return &Error{Kind: KindUnauthorized, Code: code, Detail: detail}
}

// Conflict says the request conflicts with the current state.
func Conflict(code, detail string) *Error {
	return &Error{Kind: KindConflict, Code: code, Detail: detail}
}

// BadRequest says the request is malformed.
func BadRequest(code, detail string) *Error {
	return &Error{Kind: KindBadRequest, Code: code, Detail: detail}
}

// RateLimited says to come back in retryAfter seconds.
func RateLimited(detail string, retryAfter int) *Error {
	return &Error{Kind: KindRateLimited, Code: "rate_limited", Detail: detail, RetryAfter: retryAfter}
}

// Unavailable says a dependency or a bounded resource cannot serve the
// request now, and to come back in retryAfter seconds.
func Unavailable(code, detail string, retryAfter int) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Detail: detail, RetryAfter: retryAfter}
}

// Invalid reports field errors as one validation failure.
func Invalid(fields ...FieldError) *Error {
	detail := "the request breaks a validation rule"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Message
	} else if len(fields) > 1 {
		detail = fmt.Sprintf("%d fields are invalid", len(fields))
	}
	return &Error{Kind: KindInvalid, Code: "validation_failed", Detail: detail, Fields: fields}
}

// Fields collects field errors and turns them into one Invalid fault.
type Fields []FieldError

// Add records a field error.
func (f *Fields) Add(field, code, message string) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: message})
}

// Err returns nil when nothing was added.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}

// UnsupportedMediaType says the body is not in a media type (or charset)
// the API reads.
func UnsupportedMediaType(code, detail string) *Error {
	return &Error{Kind: KindUnsupportedMediaType, Code: code, Detail: detail}
}

// BadGateway says an outside server (a mailbox's mail server) refused or
// failed the request; detail says what it answered.
func BadGateway(code, detail string) *Error {
	return &Error{Kind: KindBadGateway, Code: code, Detail: detail}
}
