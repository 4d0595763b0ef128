package tenantry

import (
	"errors"
	"fmt"
)

// Error codes: the closed set every layer speaks. handlers maps each to one
// HTTP status; anything that is not an *Error is EINTERNAL.
const (
	EINVALID      = "invalid"              // the request is malformed or fails validation
	EUNAUTHORIZED = "unauthorized"         // no, bad, expired or revoked credential
	EFORBIDDEN    = "forbidden"            // a valid credential of the wrong kind
	ENOTFOUND     = "not_found"            // absent, or not the caller's
	ECONFLICT     = "conflict"             // clashes with the current state
	EMISMATCH     = "idempotency_mismatch" // an Idempotency-Key reused with another body
	ETOOLARGE     = "too_large"            // a body over the size limit
	ERATELIMIT    = "rate_limited"
	EUNAVAILABLE  = "unavailable" // a dependency is down; retry later
	EINTERNAL     = "internal"
)

// Error is tenantry's one application error. Message is safe to show to
// the caller; Fields names the offending fields for EINVALID.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

// FieldError says what is wrong with one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("tenantry error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the fields at fault.
func Invalid(fields ...FieldError) *Error {
	msg := "the request is invalid"
	if len(fields) > 0 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the *Error in err's chain, "" for nil and
// EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; internal errors
// get a generic text so no internals leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
