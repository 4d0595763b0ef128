package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// drainLimit is how much of a retried response's body is read so its
// connection can be reused; a longer body is closed unread.
const drainLimit = 64 << 10

// Do sends req with ctx, which replaces req's own context, retrying at most
// MaxRetries times. Every wait ends early when ctx is done. It is safe for
// concurrent use and does not modify req. The retry policy:
//
//   - A request with a body is retried only if req.GetBody is set (as
//     http.NewRequest does for *bytes.Buffer, *bytes.Reader and
//     *strings.Reader bodies); each retry sends a fresh GetBody.
//   - Idempotent requests (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any
//     method with an Idempotency-Key or X-Idempotency-Key header, as
//     net/http reckons) are retried on 429, 502, 503 and 504, and on
//     transient transport errors: timeouts (the attempt's Timeout
//     included), refused or reset connections, a connection closed before
//     the response was complete, a failing DNS server.
//   - Other requests (POST, PATCH, …) are retried only where the provider
//     cannot have acted on them: a 429 or 503 carrying a Retry-After, or a
//     failure to connect (DNS or TCP dial). Once a connection is made they
//     are never retried on an error: the request may have been applied.
//   - Never retried: a dial refused by the guard, an unknown host, a TLS
//     certificate failure, a malformed request, too many redirects, and
//     anything once ctx is done.
//   - The wait is the response's Retry-After (delta-seconds or HTTP-date,
//     a past date meaning now). If it asks for more than MaxRetryWait, Do
//     does not wait: it returns that response at once. Without Retry-After
//     the wait is BackoffBase·2^retry, capped at MaxRetryWait, drawn at
//     random from the upper half of that.
//   - The body of a response that is retried is drained (up to 64 KiB)
//     and closed, so its connection can be reused.
//
// Do returns the last response with a nil error whenever a response came
// back, whatever its status, retries exhausted or not; the caller closes
// its body. It returns an error when no response came back: a transport
// error (a *url.Error), a *BlockedError inside it when the guard refused
// the address (tenantry.ErrorCode gives EFORBIDDEN; never retried), or
// ctx's error when ctx ended during a wait.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	retries := c.cfg.MaxRetries
	if !replayable(req) {
		retries = 0
	}
	for attempt := 0; ; attempt++ {
		r, err := attemptRequest(ctx, req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := c.http.Do(r)
		if attempt == retries {
			return resp, err
		}
		wait, retry := c.retryWait(ctx, r, resp, err, attempt)
		if !retry {
			return resp, err
		}
		c.logRetry(r, resp, err, attempt, wait)
		discard(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("egress: %s %s: waiting to retry: %w", r.Method, r.URL.Host, err)
		}
	}
}

// attemptRequest returns the request for one attempt: a clone of req bound
// to ctx, with a fresh body from GetBody after the first attempt.
func attemptRequest(ctx context.Context, req *http.Request, attempt int) (*http.Request, error) {
	r := req.Clone(ctx)
	if attempt > 0 && hasBody(req) {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("egress: %s %s: rewind request body: %w", req.Method, req.URL.Host, err)
		}
		r.Body = body
	}
	return r, nil
}

func (c *Client) logRetry(r *http.Request, resp *http.Response, err error, attempt int, wait time.Duration) {
	fields := []zap.Field{
		zap.String("method", r.Method),
		zap.String("host", r.URL.Host), // not the URL: its query may hold secrets
		zap.Int("retry", attempt+1),
		zap.Duration("wait", wait),
	}
	if resp != nil {
		fields = append(fields, zap.Int("status", resp.StatusCode))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // *url.Error quotes the whole URL, query secrets and all
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	c.cfg.Logger.Debug("egress: retrying", fields...)
}

// discard drains a little of resp's body and closes it, so the connection
// can go back to the pool.
func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
