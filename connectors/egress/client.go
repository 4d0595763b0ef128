package egress

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Client sends requests to third-party providers through the egress guard,
// with a per-attempt timeout and retries. It is safe for concurrent use;
// build one per process and share it, so connections are pooled.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a Client for cfg, zero fields taking their defaults. It
// panics if cfg does not pass Validate; cmd/* validates configuration as it
// reads it, so a panic here is a programming error.
func New(cfg Config) *Client {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	cfg.Allow = slices.Clone(cfg.Allow) // the caller's slice may change later
	return &Client{cfg: cfg, http: newHTTPClient(cfg)}
}

// HTTPClient returns an *http.Client for libraries that want one (an OAuth2
// library, a provider SDK). It has the same guard, Timeout, redirect policy
// and User-Agent as c, and shares c's connection pool, but it never
// retries. Changing the returned client does not affect c.
func (c *Client) HTTPClient() *http.Client {
	hc := *c.http
	return &hc
}

func newHTTPClient(cfg Config) *http.Client {
	// The settings of http.DefaultTransport, except Proxy: through a proxy
	// the guard would check the proxy's address, not the destination's,
	// so HTTP_PROXY and friends are ignored.
	t := &http.Transport{
		DialContext: guard{allow: cfg.Allow}.dialContext(&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	return &http.Client{
		Transport:     userAgent{next: t, ua: cfg.UserAgent},
		Timeout:       cfg.Timeout,
		CheckRedirect: checkRedirect(cfg.FollowRedirects),
	}
}

// errTooManyRedirects is returned, wrapped in a *url.Error, after the
// fifth redirect.
var errTooManyRedirects = fmt.Errorf("egress: stopped after %d redirects", maxRedirects)

func checkRedirect(follow bool) func(*http.Request, []*http.Request) error {
	return func(_ *http.Request, via []*http.Request) error {
		switch {
		case !follow:
			return http.ErrUseLastResponse
		case len(via) > maxRedirects:
			return errTooManyRedirects
		}
		return nil
	}
}

// userAgent sets the configured User-Agent on requests that have none.
// A request whose User-Agent header is present but empty keeps it empty,
// as net/http does.
type userAgent struct {
	next *http.Transport
	ua   string
}

func (t userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := r.Header["User-Agent"]; !ok {
		r = r.Clone(r.Context()) // a RoundTripper must not modify its request
		if r.Header == nil {
			r.Header = make(http.Header)
		}
		r.Header.Set("User-Agent", t.ua)
	}
	return t.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport through the wrapper.
func (t userAgent) CloseIdleConnections() { t.next.CloseIdleConnections() }

var _ http.RoundTripper = userAgent{}
