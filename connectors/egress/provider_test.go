package egress_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors/egress"
)

// loopback is the allow list that lets a client reach httptest servers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// handler answers one request; hit counts the provider's requests from 1.
type handler func(w http.ResponseWriter, r *http.Request, hit int32)

// provider is a third-party provider played by an httptest server on
// 127.0.0.1 that counts the requests and connections it receives.
type provider struct {
	*httptest.Server
	hits  atomic.Int32
	conns atomic.Int32
}

func newProvider(t *testing.T, h handler) *provider {
	t.Helper()
	return startProvider(t, h, false)
}

// startProvider starts a provider, speaking HTTPS with a certificate no
// client trusts if useTLS is set.
func startProvider(t *testing.T, h handler, useTLS bool) *provider {
	t.Helper()
	p := &provider{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, p.hits.Add(1))
	}))
	p.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	p.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	if useTLS {
		p.StartTLS()
	} else {
		p.Start()
	}
	t.Cleanup(p.Close)
	return p
}

// status answers every request with code.
func status(code int) handler {
	return func(w http.ResponseWriter, _ *http.Request, _ int32) { w.WriteHeader(code) }
}

// localClient returns a client allowed to reach loopback providers, with
// a backoff small enough for tests unless cfg sets one.
func localClient(cfg egress.Config) *egress.Client {
	cfg.Allow = loopback
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = 10 * time.Millisecond
	}
	return egress.New(cfg)
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	require.NoError(t, err)
	return req
}

// get sends a GET to url through c and returns the response, closing its
// body when the test ends.
func get(t *testing.T, c *egress.Client, url string) (*http.Response, error) {
	t.Helper()
	resp, err := c.Do(t.Context(), newRequest(t, http.MethodGet, url, nil))
	if resp != nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
