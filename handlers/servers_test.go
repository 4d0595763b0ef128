package handlers_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// providerSecret matches the fake provider's access and refresh tokens
// and authorization codes.
var providerSecret = regexp.MustCompile(`\b(at|rt|code)_[A-Z2-7]{16,}`)

// connectorsFor writes connector definitions for a fake provider: an
// API-key one (fake_key) and an OAuth2 one with PKCE (fake_oauth).
func connectorsFor(t *testing.T, p *fakeprovider.Provider) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(body, "PROVIDER", p.URL)), 0o600))
	}
	write("fake_key.yaml", `
id: fake_key
name: Fake (API key)
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
base_url: PROVIDER
apply: {headers: {X-Api-Key: "{{api_key}}"}}
check: {path: /api/key-check}
`)
	write("fake_oauth.yaml", `
id: fake_oauth
name: Fake (OAuth)
auth:
  type: oauth2
  oauth2: {authorize_url: PROVIDER/oauth/authorize, token_url: PROVIDER/oauth/token, scopes: [read], pkce: true}
base_url: PROVIDER
apply: {headers: {Authorization: "Bearer {{access_token}}"}}
check: {path: /api/me}
`)
	return dir
}

// connSetup runs a system whose catalog has the fake connectors, with the
// egress guard letting loopback through, and returns an end-customer.
func connSetup(t *testing.T, opts fakeprovider.Options, edit func(*node.Config)) (*tenantrytest.System, *fakeprovider.Provider, string, string) {
	t.Helper()
	p := fakeprovider.New(t, opts)
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.ConnectorsDir = connectorsFor(t, p)
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Connections.OAuthClients = map[string]connections.Client{"fake_oauth": {ID: "client-id", Secret: "client-secret"}}
		if edit != nil {
			edit(c)
		}
	})
	_, partner := sys.Partner()
	return sys, p, partner, account(t, sys, partner, "customer")
}

// account creates a provisioned subaccount and returns its token.
func account(t *testing.T, sys *tenantrytest.System, partner, externalID string) string {
	t.Helper()
	id := create(t, sys, partner, externalID)
	r := sys.Do("GET", "/api/subaccount/"+id+"/token", partner, nil)
	require.Equal(t, 200, r.Status)
	return r.JSON["token"].(string)
}

// waitServer polls connection id until it leaves pending/oauth_pending.
func waitServer(t *testing.T, sys *tenantrytest.System, token, id string) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		r := sys.Do("GET", "/api/server/"+id, token, nil)
		last = r.JSON
		return r.Status == 200 && last["status"] != "pending" && last["status"] != "oauth_pending"
	}, 15*time.Second, 20*time.Millisecond)
	return last
}

// oauthConnect runs the popup's round trip without a browser: the user
// approves at the provider, the browser follows the redirect to us.
func oauthConnect(t *testing.T, sys *tenantrytest.System, p *fakeprovider.Provider, oauthURL string) *http.Response {
	t.Helper()
	callback, err := p.Approve(oauthURL)
	require.NoError(t, err)
	resp, err := http.Get(callback)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestCredentialConnection(t *testing.T) {
	t.Parallel()
	sys, _, partner, token := connSetup(t, fakeprovider.Options{}, nil)

	t.Run("OK", func(t *testing.T) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "name": "CRM", "api_key": "key-123"})
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		require.Equal(t, "pending", r.JSON["status"])
		require.NotEmpty(t, r.JSON["job_id"])
		require.NotContains(t, string(r.Body), "key-123", "secrets are never returned")
		id := r.JSON["id"].(string)
		require.Equal(t, "succeeded", sys.WaitJob(token, r.JSON["job_id"].(string))["status"])
		got := waitServer(t, sys, token, id)
		require.Equal(t, "active", got["status"])
		require.Equal(t, "CRM", got["name"])
		require.NotNil(t, got["last_checked_at"])
		require.Empty(t, got["fields"], "the key is secret: not among the returned fields")

		logs := sys.Do("GET", "/api/server/"+id+"/logs", token, nil)
		require.Equal(t, 200, logs.Status)
		text := string(logs.Body)
		require.Contains(t, text, "credential check passed")
		require.Contains(t, text, r.JSON["job_id"].(string), "log lines carry the job id")
		require.NotContains(t, sys.Logs(), "key-123", "secrets are never logged")

		list := sys.Do("GET", "/api/servers", token, nil)
		require.Len(t, list.JSON["items"], 1)
		require.Len(t, sys.Do("GET", "/api/servers", partner, nil).JSON["items"], 1, "the partner sees its customers' connections")
	})
	t.Run("Rejected", func(t *testing.T) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "wrong"})
		require.Equal(t, http.StatusAccepted, r.Status)
		got := waitServer(t, sys, token, r.JSON["id"].(string))
		require.Equal(t, "error", got["status"])
		require.Contains(t, got["status_reason"], "rejected the credentials (HTTP 401)")
		require.Equal(t, "failed", sys.WaitJob(token, r.JSON["job_id"].(string))["status"])
		require.NotContains(t, sys.Logs(), `"wrong"`)
		require.Eventually(t, func() bool { return eventCount(t, sys, "evt.*.server.error") >= 1 }, 5*time.Second, 20*time.Millisecond)
	})
	t.Run("Update", func(t *testing.T) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "wrong"})
		id := r.JSON["id"].(string)
		require.Equal(t, "error", waitServer(t, sys, token, id)["status"])
		up := sys.Do("PUT", "/api/server/"+id, token, map[string]any{"api_key": "key-123"})
		require.Equal(t, http.StatusAccepted, up.Status, string(up.Body))
		require.Equal(t, id, up.JSON["id"])
		require.Equal(t, "active", waitServer(t, sys, token, id)["status"], "new credentials, checked again")
	})
	t.Run("RenameOnly", func(t *testing.T) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "key-123"}, "Idempotency-Key", "conn-1")
		id := r.JSON["id"].(string)
		require.Equal(t, "active", waitServer(t, sys, token, id)["status"])
		again := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "key-123"}, "Idempotency-Key", "conn-1")
		require.Equal(t, id, again.JSON["id"], "an Idempotency-Key makes a retried create one connection")
		up := sys.Do("PUT", "/api/server/"+id, token, map[string]any{"name": "Renamed"})
		require.Equal(t, http.StatusOK, up.Status, string(up.Body))
		require.Equal(t, "Renamed", up.JSON["name"])
		require.Equal(t, "active", up.JSON["status"], "a rename does not re-verify")
	})
	t.Run("NewHostNeedsSecretsAgain", func(t *testing.T) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "rest_bearer", "base_url": "https://api.example.com", "token": "tok-1"})
		id := r.JSON["id"].(string)
		up := sys.Do("PUT", "/api/server/"+id, token, map[string]any{"base_url": "https://attacker.example"})
		require.Equal(t, 400, up.Status, "the stored token must not follow the connection to another host")
		require.Equal(t, "token", up.JSON["errors"].([]any)[0].(map[string]any)["field"])
	})
	t.Run("Validation", func(t *testing.T) {
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"servertype_id": "fake_key"}, "api_key"},
			{map[string]any{"servertype_id": "nope", "api_key": "x"}, "servertype_id"},
			{map[string]any{"api_key": "x"}, "servertype_id"},
			{map[string]any{"servertype_id": "fake_key", "api_key": "x", "extra": 1}, "extra"},
			{map[string]any{"servertype_id": "fake_key", "api_key": 5}, "api_key"},
			{map[string]any{"servertype_id": "fake_key", "api_key": "x", "name": 5}, "name"},
		} {
			r := sys.Do("POST", "/api/servers", token, tc.body)
			require.Equal(t, 400, r.Status, "%v: %s", tc.body, r.Body)
			require.Equal(t, tc.field, r.JSON["errors"].([]any)[0].(map[string]any)["field"], string(r.Body))
		}
		require.Equal(t, 403, sys.Do("POST", "/api/servers", partner, map[string]any{"servertype_id": "fake_key", "api_key": "x"}).Status)
	})
	t.Run("EgressGuard", func(t *testing.T) {
		for _, base := range []string{"http://169.254.169.254/latest", "http://10.0.0.1", "http://[::1]:8080", "http://127.0.0.2"} {
			r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "rest_bearer", "base_url": base, "token": "t"})
			require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
			got := waitServer(t, sys, token, r.JSON["id"].(string))
			require.Equal(t, "error", got["status"], base)
			require.Contains(t, got["status_reason"], "not allowed", base)
		}
	})
	t.Run("Catalog", func(t *testing.T) {
		for _, tok := range []string{token, partner} {
			r := sys.Do("GET", "/api/servertypes", tok, nil)
			require.Equal(t, 200, r.Status)
			ids := []string{}
			for _, it := range r.JSON["items"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			require.Subset(t, ids, []string{"fake_key", "fake_oauth", "hubspot", "salesforce", "stripe", "github",
				"shopify", "google_sheets", "pipedrive", "rest_bearer", "secret_store"})
			require.NotContains(t, string(r.Body), "client-secret")
		}
	})
}

func TestOAuthConnection(t *testing.T) {
	t.Parallel()
	sys, p, _, token := connSetup(t, fakeprovider.Options{RequirePKCE: true}, nil)
	start := func(t *testing.T) (id, oauthURL string) {
		r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		require.Equal(t, "oauth_pending", r.JSON["status"])
		u, err := url.Parse(r.JSON["oauth_url"].(string))
		require.NoError(t, err)
		require.Equal(t, "S256", u.Query().Get("code_challenge_method"))
		require.NotEmpty(t, u.Query().Get("state"))
		return r.JSON["id"].(string), r.JSON["oauth_url"].(string)
	}

	t.Run("OK", func(t *testing.T) {
		id, oauthURL := start(t)
		resp := oauthConnect(t, sys, p, oauthURL)
		require.Equal(t, 200, resp.StatusCode)
		got := waitServer(t, sys, token, id)
		require.Equal(t, "active", got["status"], got["status_reason"])
		logs := string(sys.Do("GET", "/api/server/"+id+"/logs", token, nil).Body)
		require.Contains(t, logs, "authorization complete")
		require.Contains(t, logs, "credential check passed", "the new tokens are checked")
		require.NotRegexp(t, providerSecret, sys.Logs(), "tokens and codes are never logged")
		require.NotRegexp(t, providerSecret, string(sys.Do("GET", "/api/server/"+id+"/logs", token, nil).Body))
		require.NotRegexp(t, providerSecret, string(sys.Do("GET", "/api/server/"+id, token, nil).Body))

		t.Run("ReplayedState", func(t *testing.T) {
			callback, err := p.Approve(oauthURL)
			require.NoError(t, err)
			resp, err := http.Get(callback)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusConflict, resp.StatusCode, "a state works once")
			require.Equal(t, "active", sys.Do("GET", "/api/server/"+id, token, nil).JSON["status"], "the connection is left alone")
		})
	})
	t.Run("Denied", func(t *testing.T) {
		id, oauthURL := start(t)
		callback, err := p.Deny(oauthURL)
		require.NoError(t, err)
		resp, err := http.Get(callback)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 400, resp.StatusCode)
		got := waitServer(t, sys, token, id)
		require.Equal(t, "error", got["status"])
		require.Contains(t, got["status_reason"], "access_denied")
	})
	t.Run("UnknownState", func(t *testing.T) {
		resp, err := http.Get(sys.URL + "/oauth/callback?state=forged&code=x")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("FailedExchange", func(t *testing.T) {
		id, oauthURL := start(t)
		callback, err := p.Approve(oauthURL)
		require.NoError(t, err)
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("code", "not-the-code")
		u.RawQuery = q.Encode()
		resp, err := http.Get(u.String())
		require.NoError(t, err)
		resp.Body.Close()
		got := waitServer(t, sys, token, id)
		require.Equal(t, "error", got["status"])
		require.Contains(t, got["status_reason"], "invalid_grant")
	})
}

func TestOAuthNeverCompleted(t *testing.T) {
	t.Parallel()
	sys, _, _, token := connSetup(t, fakeprovider.Options{}, func(c *node.Config) {
		c.DatabaseURL = tenantrytest.Database(t) // a scheduler acts on its whole database
		c.Scheduler, c.Schedule.Interval = true, 50*time.Millisecond
		c.Connections.StateTTL = 300 * time.Millisecond
	})
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	got := waitServer(t, sys, token, r.JSON["id"].(string))
	require.Equal(t, "error", got["status"], "an authorization nobody completes does not wait forever")
	require.Contains(t, got["status_reason"], "not completed in time")
}

func TestOAuthStateExpires(t *testing.T) {
	t.Parallel()
	sys, p, _, token := connSetup(t, fakeprovider.Options{}, func(c *node.Config) { c.Connections.StateTTL = 300 * time.Millisecond })
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	callback, err := p.Approve(r.JSON["oauth_url"].(string))
	require.NoError(t, err)
	time.Sleep(400 * time.Millisecond)
	resp, err := http.Get(callback)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
	got := waitServer(t, sys, token, r.JSON["id"].(string))
	require.Equal(t, "error", got["status"])
	require.Contains(t, got["status_reason"], "longer than allowed")
}

// TestRefreshRace: two workers' worth of services, many goroutines each,
// all finding the token expired at once — exactly one refresh reaches the
// provider (which, like real ones, revokes the grant on a double refresh),
// and everyone gets the same new token.
func TestRefreshRace(t *testing.T) {
	t.Parallel()
	sys, p, _, token := connSetup(t, fakeprovider.Options{RefreshDelay: 100 * time.Millisecond}, nil)
	other := tenantrytest.StartWithNATS(t, sys.NATS, func(c *node.Config) {
		c.API, c.Worker = false, true
		c.ConnectorsDir = connectorsFor(t, p)
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Connections.OAuthClients = map[string]connections.Client{"fake_oauth": {ID: "client-id", Secret: "client-secret"}}
	})
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	id := r.JSON["id"].(string)
	oauthConnect(t, sys, p, r.JSON["oauth_url"].(string))
	require.Equal(t, "active", waitServer(t, sys, token, id)["status"])
	// The access token expires now; the refreshed one lives an hour, so
	// however long a goroutine waits for the lock, it finds it fresh.
	_, err := sys.Node.Store.Pool().Exec(context.Background(),
		`UPDATE core.connections SET token_expires_at = now() - interval '1 second' WHERE id = $1`, id)
	require.NoError(t, err)

	var wg sync.WaitGroup
	tokens := make(chan string, 40)
	for _, svc := range []*connections.Service{sys.Node.Conns, other.Node.Conns} {
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := svc.AccessToken(context.Background(), id, "")
				if err != nil {
					tokens <- "error: " + err.Error()
					return
				}
				tokens <- tok
			}()
		}
	}
	wg.Wait()
	close(tokens)
	seen := map[string]int{}
	for tok := range tokens {
		seen[tok]++
	}
	require.Len(t, seen, 1, "everyone gets the same token: %v", seen)
	require.Equal(t, 1, p.RefreshCalls(), "exactly one refresh")
	require.Equal(t, "active", sys.Do("GET", "/api/server/"+id, token, nil).JSON["status"], "the grant survived")
}

func TestRefreshBeforeExpiryAndInvalidGrant(t *testing.T) {
	t.Parallel()
	sys, p, _, token := connSetup(t, fakeprovider.Options{AccessTokenTTL: 2 * time.Second}, func(c *node.Config) {
		c.DatabaseURL = tenantrytest.Database(t) // a scheduler acts on its whole database
		c.Scheduler = true
		c.Schedule.Interval = 100 * time.Millisecond
		c.Connections.RefreshBefore = 1500 * time.Millisecond
	})
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	id := r.JSON["id"].(string)
	oauthConnect(t, sys, p, r.JSON["oauth_url"].(string))
	require.Equal(t, "active", waitServer(t, sys, token, id)["status"])

	require.Eventually(t, func() bool { return p.RefreshCalls() >= 3 }, 10*time.Second, 20*time.Millisecond,
		"the scheduler refreshes before expiry, again and again")
	require.Eventually(t, func() bool {
		return strings.Contains(string(sys.Do("GET", "/api/server/"+id+"/logs", token, nil).Body), "access token refreshed")
	}, 5*time.Second, 20*time.Millisecond)
	// The provider rotates the refresh token on every refresh and revokes
	// the grant if a spent one comes back: staying active through several
	// refreshes shows each rotated token was stored before the next use.
	require.Equal(t, "active", sys.Do("GET", "/api/server/"+id, token, nil).JSON["status"])

	p.RevokeGrant()
	got := map[string]any{}
	require.Eventually(t, func() bool {
		got = sys.Do("GET", "/api/server/"+id, token, nil).JSON
		return got["status"] == "needs_reauth"
	}, 10*time.Second, 50*time.Millisecond, "invalid_grant → needs_reauth")
	require.Contains(t, got["status_reason"], "invalid_grant")
	require.Eventually(t, func() bool { return eventCount(t, sys, "evt.*.server.needs_reauth") == 1 }, 5*time.Second, 20*time.Millisecond)

	t.Run("ReconnectKeepsID", func(t *testing.T) {
		re := sys.Do("POST", "/api/server/"+id+"/reconnect", token, nil)
		require.Equal(t, http.StatusAccepted, re.Status, string(re.Body))
		require.Equal(t, id, re.JSON["id"])
		require.Equal(t, "oauth_pending", re.JSON["status"])
		oauthConnect(t, sys, p, re.JSON["oauth_url"].(string))
		require.Equal(t, "active", waitServer(t, sys, token, id)["status"])
	})
}

func TestConnectionIsolation(t *testing.T) {
	t.Parallel()
	sys, _, partnerA, tokenA := connSetup(t, fakeprovider.Options{}, nil)
	_, partnerB := sys.Partner()
	tokenB := account(t, sys, partnerB, "customer-b")
	tokenA2 := account(t, sys, partnerA, "customer-a2")
	r := sys.Do("POST", "/api/servers", tokenA, map[string]any{"servertype_id": "fake_key", "api_key": "key-123"})
	id := r.JSON["id"].(string)
	waitServer(t, sys, tokenA, id)

	for _, tok := range []string{tokenB, partnerB, tokenA2} {
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/server/" + id}, {"PUT", "/api/server/" + id}, {"DELETE", "/api/server/" + id},
			{"GET", "/api/server/" + id + "/logs"}, {"POST", "/api/server/" + id + "/reconnect"},
		} {
			var body any
			if req.method == "PUT" {
				body = map[string]any{"api_key": "stolen"}
			}
			resp := sys.Do(req.method, req.path, tok, body)
			require.Equal(t, http.StatusNotFound, resp.Status, "%s %s", req.method, req.path)
		}
		require.Empty(t, sys.Do("GET", "/api/servers", tok, nil).JSON["items"])
	}
	require.Equal(t, "active", sys.Do("GET", "/api/server/"+id, tokenA, nil).JSON["status"], "untouched")
	require.Equal(t, 204, sys.Do("DELETE", "/api/server/"+id, tokenA, nil).Status)
	require.Equal(t, 404, sys.Do("GET", "/api/server/"+id, tokenA, nil).Status)
	require.Eventually(t, func() bool { return eventCount(t, sys, "evt.*.server.deleted") == 1 }, 5*time.Second, 20*time.Millisecond)
}
