package fakeprovider

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Options configures a Provider. The zero value is usable: every field
// has a default.
type Options struct {
	// ClientID and ClientSecret are the credentials of the one registered
	// OAuth client; defaults "client-id" and "client-secret".
	ClientID, ClientSecret string
	// AccessTokenTTL is the lifetime of every access token issued (the
	// expires_in of the token response, rounded up to whole seconds);
	// default one hour.
	AccessTokenTTL time.Duration
	// RequirePKCE makes the authorization endpoint refuse requests without
	// an S256 code_challenge (redirecting error=invalid_request).
	RequirePKCE bool
	// APIKey is the key /api/key-check and the records endpoints accept;
	// default "key-123".
	APIKey string
	// RefreshDelay is how long the refresh_token grant waits between
	// rotating the refresh token and answering: the window in which a
	// second refresh with the same token loses the grant.
	RefreshDelay time.Duration
	// Now is the provider's clock, used for code and access-token expiry;
	// default time.Now. Tests move it to expire things without sleeping.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = "client-id"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "client-secret"
	}
	if o.AccessTokenTTL == 0 {
		o.AccessTokenTTL = time.Hour
	}
	if o.APIKey == "" {
		o.APIKey = "key-123"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Provider is a running fake provider. Its methods are safe for
// concurrent use, also while tenantry is calling it.
type Provider struct {
	URL string // base URL of the httptest server, e.g. http://127.0.0.1:41234

	t      testing.TB
	opts   Options
	client *http.Client // for Approve and Deny: does not follow redirects

	mu           sync.Mutex
	codes        map[string]*authCode
	access       map[string]*accessToken
	refresh      map[string]*refreshToken
	grants       []*grant
	refreshCalls int
	tokenFaults  fault
	apiFaults    fault
	delay        time.Duration
	requests     map[string]int
	records      []record // sorted by key; replaced, never modified in place
}

// fault is a pending injected failure: the next n calls answer status.
type fault struct {
	n          int
	status     int
	retryAfter string
}

// take consumes one injected failure, if any is pending.
func (f *fault) take() (fault, bool) {
	if f.n <= 0 {
		return fault{}, false
	}
	f.n--
	return *f, true
}

// New starts a provider for t; its server is closed when t ends.
func New(t testing.TB, opts Options) *Provider {
	t.Helper()
	p := &Provider{
		t:        t,
		opts:     opts.withDefaults(),
		codes:    map[string]*authCode{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		requests: map[string]int{},
	}
	srv := httptest.NewServer(p.routes())
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	p.client = &http.Client{
		Transport:     srv.Client().Transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p
}

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", p.authorize)
	mux.HandleFunc("POST /oauth/decide", p.decide)
	mux.HandleFunc("POST /oauth/token", p.token)
	mux.Handle("GET /api/me", p.api(p.me))
	mux.Handle("GET /api/key-check", p.api(p.keyCheck))
	mux.Handle("GET /api/records/cursor", p.api(p.recordsByCursor))
	mux.Handle("GET /api/records/link", p.api(p.recordsByLink))
	mux.Handle("GET /api/records/page", p.api(p.recordsByPage))
	mux.Handle("GET /api/records/offset", p.api(p.recordsByOffset))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests[r.URL.Path]++
		p.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// Requests returns how many requests have arrived for path (the URL path
// alone, e.g. "/oauth/token" or "/api/records/cursor"), whatever their
// outcome, including those failed by FailNext or FailTokenEndpoint.
func (p *Provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[path]
}

func (p *Provider) now() time.Time { return p.opts.Now() }

// newSecret returns an unguessable token with a prefix saying what it is,
// which makes test failures readable.
func newSecret(prefix string) string { return prefix + rand.Text() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
