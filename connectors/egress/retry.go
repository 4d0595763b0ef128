package egress

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// retryWait implements the retry policy documented on Do, bar the check
// that the body can be replayed. It reports whether the outcome of attempt
// (counted from 0) should be retried, and after how long.
func (c *Client) retryWait(ctx context.Context, r *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil || isBlocked(err) {
		return 0, false
	}
	if err != nil {
		return c.backoff(attempt), transient(err) && (idempotent(r) || isDialError(err))
	}
	after, hasAfter := retryAfter(resp.Header, time.Now())
	switch {
	case !retryableStatus(resp.StatusCode, idempotent(r), hasAfter):
		return 0, false
	case !hasAfter:
		return c.backoff(attempt), true
	}
	return after, after <= c.cfg.MaxRetryWait
}

// retryableStatus says which statuses are worth another attempt.
func retryableStatus(code int, idempotent, hasAfter bool) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return idempotent || hasAfter
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	_, key := r.Header["Idempotency-Key"]
	_, xkey := r.Header["X-Idempotency-Key"]
	return key || xkey
}

// transient reports whether a transport error may go away by itself: a
// network error (timeout, refused, reset, a failed DNS server) or a
// connection closed before the response was complete. A malformed request,
// a TLS certificate failure, a host that does not exist or a redirect loop
// are permanent.
func transient(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound
	}
	var ue *url.Error // a *url.Error is itself a net.Error: look inside it
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// isDialError reports whether err is a failure to connect, before any
// byte of the request was written.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// replayable reports whether req can be sent more than once.
func replayable(req *http.Request) bool {
	return !hasBody(req) || req.GetBody != nil
}

func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody
}

// RetryAfter returns the wait a response's Retry-After header asks for, as
// Do reads it: delta-seconds or an HTTP-date (a past date is 0), measured
// from now. It reports false when the header is absent or unreadable. It
// is for callers that pass on a 429 or 503 Do stopped retrying.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return retryAfter(h, now)
}

// retryAfter parses the Retry-After header, as delta-seconds or an
// HTTP-date relative to now. A date in the past means no wait; a negative
// or unparseable value counts as absent.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err == nil || errors.Is(err, strconv.ErrRange) {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// backoff is the wait before retry attempt+1 when there is no Retry-After:
// BackoffBase·2^attempt, capped at MaxRetryWait, jittered within its upper
// half so that clients that failed together do not retry together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase
	for i := 0; i < attempt && d <= c.cfg.MaxRetryWait/2; i++ { // no overflow
		d *= 2
	}
	d = min(d, c.cfg.MaxRetryWait)
	return d/2 + rand.N(d/2+1)
}
