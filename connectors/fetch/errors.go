package fetch

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
)

// RateLimitError is a 429 the provider kept answering after the Doer's
// retries. It unwraps to a tenantry EUNAVAILABLE error, so retrying the
// job later is right; RetryAfter is how long the provider asked to wait
// (0 when it did not say).
type RateLimitError struct {
	RetryAfter time.Duration
	err        *tenantry.Error
}

func (e *RateLimitError) Error() string { return e.err.Error() }

// Unwrap returns the EUNAVAILABLE error.
func (e *RateLimitError) Unwrap() error { return e.err }

// statusError turns a response that is not a 2xx into the error Next
// documents, or returns nil.
func (f *Fetcher) statusError(resp *http.Response) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized:
		return tenantry.Errorf(tenantry.EUNAUTHORIZED, "stream %s: the provider rejected the credentials (HTTP 401)", f.stream.Name)
	case code == http.StatusTooManyRequests:
		after, _ := egress.RetryAfter(resp.Header, time.Now())
		return &RateLimitError{RetryAfter: after, err: tenantry.Errorf(tenantry.EUNAVAILABLE,
			"stream %s: the provider is rate limiting (HTTP 429; retry after %s)", f.stream.Name, after)}
	case code >= 400 && code < 500:
		return tenantry.Errorf(tenantry.EINVALID, "stream %s: the provider answered HTTP %d", f.stream.Name, code)
	}
	return fmt.Errorf("fetch: %s: stream %s: the provider answered HTTP %d", f.def.ID, f.stream.Name, code)
}

// invalid is a permanent error about what the provider sent.
func (f *Fetcher) invalid(format string, args ...any) error {
	return tenantry.Errorf(tenantry.EINVALID, "stream %s: %s", f.stream.Name, fmt.Sprintf(format, args...))
}
