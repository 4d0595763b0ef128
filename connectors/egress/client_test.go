package egress_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
)

func TestUserAgent(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		_, _ = w.Write([]byte(r.UserAgent()))
	})
	send := func(c *egress.Client, ua ...string) string {
		req := newRequest(t, http.MethodGet, p.URL, nil)
		if len(ua) > 0 {
			req.Header.Set("User-Agent", ua[0])
		}
		resp, err := c.Do(t.Context(), req)
		require.NoError(t, err)
		defer resp.Body.Close()
		if len(ua) == 0 {
			assert.NotContains(t, req.Header, "User-Agent", "Do does not modify the request")
		}
		return readBody(t, resp)
	}

	assert.Equal(t, "tenantry", send(localClient(egress.Config{})))
	assert.Equal(t, "acme-sync/2", send(localClient(egress.Config{UserAgent: "acme-sync/2"})))
	assert.Equal(t, "caller/1", send(localClient(egress.Config{}), "caller/1"))
}

// slowFirst holds the first request until the client gives up on it.
func slowFirst(w http.ResponseWriter, r *http.Request, hit int32) {
	if hit == 1 {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func TestTimeoutBoundsEachAttempt(t *testing.T) {
	t.Parallel()
	t.Run("NoRetries", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, slowFirst)
		start := time.Now()

		_, err := get(t, localClient(egress.Config{Timeout: 100 * time.Millisecond, MaxRetries: -1}), p.URL)

		var urlErr *url.Error
		require.ErrorAs(t, err, &urlErr)
		assert.True(t, urlErr.Timeout())
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("RetriedWithFreshTimeout", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, slowFirst)

		resp, err := get(t, localClient(egress.Config{Timeout: 100 * time.Millisecond}), p.URL)

		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.EqualValues(t, 2, p.hits.Load())
	})
}

func TestHTTPClientIsGuardedWithoutRetries(t *testing.T) {
	t.Parallel()
	p := newProvider(t, status(http.StatusServiceUnavailable))

	_, err := egress.New(egress.Config{}).HTTPClient().Get(p.URL)
	assert.Equal(t, tenantry.EFORBIDDEN, tenantry.ErrorCode(err))
	assert.Zero(t, p.conns.Load())

	resp, err := localClient(egress.Config{}).HTTPClient().Get(p.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.EqualValues(t, 1, p.hits.Load())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	assert.NoError(t, egress.Config{}.Validate())
	assert.NoError(t, egress.Config{MaxRetries: -1}.Validate(), "negative MaxRetries disables retries")
	for name, cfg := range map[string]egress.Config{
		"Timeout":      {Timeout: -time.Second},
		"MaxRetryWait": {MaxRetryWait: -time.Second},
		"BackoffBase":  {BackoffBase: -time.Second},
		"Allow[1]":     {Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}},
	} {
		err := cfg.Validate()
		assert.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), name)
		assert.ErrorContains(t, err, name)
		assert.Panics(t, func() { egress.New(cfg) }, name)
	}
}
