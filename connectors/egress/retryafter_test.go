package egress_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors/egress"
)

func TestRetryAfterSecondsIsWaited(t *testing.T) {
	t.Parallel()
	p := newProvider(t, failFirst(1, http.StatusTooManyRequests, "1"))
	start := time.Now()

	resp, err := get(t, localClient(egress.Config{}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 2, p.hits.Load())
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
}

func TestRetryAfterLongerThanMaxRetryWait(t *testing.T) {
	t.Parallel()
	p := newProvider(t, failFirst(1, http.StatusTooManyRequests, "120"))
	start := time.Now()

	resp, err := get(t, localClient(egress.Config{MaxRetryWait: time.Second}), p.URL)

	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "120", resp.Header.Get("Retry-After"), "the caller can see how long to wait")
	assert.EqualValues(t, 1, p.hits.Load())
	assert.Less(t, time.Since(start), 500*time.Millisecond)
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	t.Run("Future", func(t *testing.T) {
		t.Parallel()
		date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		p := newProvider(t, failFirst(1, http.StatusServiceUnavailable, date))

		resp, err := get(t, localClient(egress.Config{}), p.URL)

		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "an hour is over MaxRetryWait")
		assert.EqualValues(t, 1, p.hits.Load())
	})
	t.Run("Past", func(t *testing.T) {
		t.Parallel()
		date := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
		p := newProvider(t, failFirst(1, http.StatusServiceUnavailable, date))
		start := time.Now()

		// Were the date not understood, the 1s backoff would be waited.
		resp, err := get(t, localClient(egress.Config{BackoffBase: time.Second}), p.URL)

		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Less(t, time.Since(start), 400*time.Millisecond)
	})
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for value, want := range map[string]time.Duration{
		"0":                              0,
		"120":                            2 * time.Minute,
		" 5 ":                            5 * time.Second,
		"Sun, 01 Mar 2026 12:01:30 GMT":  90 * time.Second,
		"Sunday, 01-Mar-26 12:01:30 GMT": 90 * time.Second, // RFC 850, obsolete but allowed
		"Sun, 01 Mar 2026 11:00:00 GMT":  0,                // in the past: retry now
		"99999999999999999999999":        1<<63 - 1,        // absurd, but still "too long"
	} {
		got, ok := egress.RetryAfter(http.Header{"Retry-After": {value}}, now)
		assert.True(t, ok, value)
		assert.Equal(t, want, got, value)
	}
	for _, value := range []string{"", "-1", "soon", "1.5", "2026-03-01T12:00:00Z"} {
		_, ok := egress.RetryAfter(http.Header{"Retry-After": {value}}, now)
		assert.False(t, ok, "%q parsed", value)
	}
}
