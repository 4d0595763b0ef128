package egress_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors/egress"
)

// failFirst answers the first n requests with code and Retry-After
// retryAfter (none if ""), and later ones with 200 "ok".
func failFirst(n int32, code int, retryAfter string) handler {
	return func(w http.ResponseWriter, _ *http.Request, hit int32) {
		if hit > n {
			_, _ = w.Write([]byte("ok"))
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func TestRetryStatuses(t *testing.T) {
	t.Parallel()
	for code, retried := range map[int]bool{
		http.StatusTooManyRequests:     true,
		http.StatusBadGateway:          true,
		http.StatusServiceUnavailable:  true,
		http.StatusGatewayTimeout:      true,
		http.StatusInternalServerError: false,
		http.StatusNotFound:            false,
		http.StatusUnauthorized:        false,
	} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, failFirst(1, code, ""))

			resp, err := get(t, localClient(egress.Config{}), p.URL)

			require.NoError(t, err)
			if retried {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.EqualValues(t, 2, p.hits.Load())
			} else {
				assert.Equal(t, code, resp.StatusCode)
				assert.EqualValues(t, 1, p.hits.Load())
			}
		})
	}
}

func TestRetryTwiceThenSucceed(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request, hit int32) {
		if hit <= 2 {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})

	resp, err := get(t, localClient(egress.Config{}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", readBody(t, resp))
	assert.EqualValues(t, 3, p.hits.Load())
	assert.EqualValues(t, 1, p.conns.Load(), "retried responses are drained and closed, so the connection is reused")
}

func TestRetriesExhaustedReturnLastResponse(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, _ *http.Request, hit int32) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "busy %d", hit)
	})

	resp, err := get(t, localClient(egress.Config{MaxRetries: 2}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "busy 3", readBody(t, resp))
	assert.EqualValues(t, 3, p.hits.Load())
}

func TestRetryDisabled(t *testing.T) {
	t.Parallel()
	p := newProvider(t, status(http.StatusServiceUnavailable))

	resp, err := get(t, localClient(egress.Config{MaxRetries: -1}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.EqualValues(t, 1, p.hits.Load())
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]struct {
		retryAfter string
		backoff    time.Duration
	}{
		"RetryAfter": {retryAfter: "30"},
		"Backoff":    {backoff: 20 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, failFirst(1, http.StatusServiceUnavailable, cfg.retryAfter))
			c := localClient(egress.Config{BackoffBase: cfg.backoff})
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()

			resp, err := c.Do(ctx, newRequest(t, http.MethodGet, p.URL, nil))

			assert.Nil(t, resp)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), time.Second)
			assert.EqualValues(t, 1, p.hits.Load())
		})
	}
}
