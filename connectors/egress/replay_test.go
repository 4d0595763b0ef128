package egress_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tenantry/tenantry/connectors/egress"
)

const payload = `{"grant_type":"authorization_code","code":"abc"}`

// post sends a POST of payload to url through c, with GetBody set
// (http.NewRequest sets it for a *strings.Reader) unless opaque is true.
func post(t *testing.T, c *egress.Client, url string, opaque bool, header ...string) (*http.Response, error) {
	t.Helper()
	var body io.Reader = strings.NewReader(payload)
	if opaque {
		body = io.NopCloser(body)
	}
	req := newRequest(t, http.MethodPost, url, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(t.Context(), req)
	if resp != nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestPostBodyReplayedOnRetry(t *testing.T) {
	t.Parallel()
	// With a known length net/http notices an exhausted body by itself;
	// a chunked body of unknown length would silently go out empty.
	for name, length := range map[string]int64{"KnownLength": int64(len(payload)), "Chunked": -1} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var bodies []string
			p := newProvider(t, func(w http.ResponseWriter, r *http.Request, hit int32) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				failFirst(1, http.StatusServiceUnavailable, "0")(w, r, hit)
			})
			req := newRequest(t, http.MethodPost, p.URL, strings.NewReader(payload))
			req.ContentLength = length

			resp, err := localClient(egress.Config{}).Do(t.Context(), req)

			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, []string{payload, payload}, bodies)
		})
	}
}

func TestPostRetryPolicy(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		h        handler
		opaque   bool
		header   []string
		wantHits int32
	}{
		"RetriedOn429WithRetryAfter":     {h: failFirst(1, http.StatusTooManyRequests, "0"), wantHits: 2},
		"NotRetriedOn503NoRetryAfter":    {h: failFirst(1, http.StatusServiceUnavailable, ""), wantHits: 1},
		"NotRetriedOn502":                {h: failFirst(1, http.StatusBadGateway, "0"), wantHits: 1},
		"NotRetriedWithoutGetBody":       {h: failFirst(1, http.StatusServiceUnavailable, "0"), opaque: true, wantHits: 1},
		"RetriedOn502WithIdempotencyKey": {h: failFirst(1, http.StatusBadGateway, ""), header: []string{"Idempotency-Key", "k1"}, wantHits: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, tc.h)

			resp, err := post(t, localClient(egress.Config{}), p.URL, tc.opaque, tc.header...)

			require.NoError(t, err)
			assert.Equal(t, tc.wantHits, p.hits.Load())
			assert.Equal(t, tc.wantHits == 2, resp.StatusCode == http.StatusOK)
		})
	}
}

// hangUpFirst drops the connection without answering the first request.
func hangUpFirst(w http.ResponseWriter, _ *http.Request, hit int32) {
	if hit == 1 {
		conn, _, _ := http.NewResponseController(w).Hijack()
		_ = conn.Close()
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func TestConnectionDroppedAfterRequestWritten(t *testing.T) {
	t.Parallel()
	t.Run("GETRetried", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, hangUpFirst)

		resp, err := get(t, localClient(egress.Config{}), p.URL)

		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.EqualValues(t, 2, p.hits.Load())
	})
	t.Run("POSTNotRetried", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, hangUpFirst)

		resp, err := post(t, localClient(egress.Config{}), p.URL, false)

		require.Error(t, err, "the provider may have acted on the POST")
		assert.Nil(t, resp)
		assert.EqualValues(t, 1, p.hits.Load())
	})
}

func TestPostRetriedWhenConnectFails(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens: connection refused
	core, logs := observer.New(zap.DebugLevel)
	c := localClient(egress.Config{MaxRetries: 2, Logger: zap.New(core)})

	resp, err := post(t, c, url, false)

	require.Error(t, err)
	assert.Nil(t, resp)
	assert.Equal(t, 2, logs.FilterMessage("egress: retrying").Len(), "nothing was sent, so both retries are safe")
}
