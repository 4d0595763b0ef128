package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// limited sets small quotas over an hour-long window (so a test never
// straddles a window boundary in practice) and a fast share interval.
func limited(read, write int) func(*node.Config) {
	return func(c *node.Config) {
		c.HTTP.RateLimits = handlers.RateLimits{Read: handlers.RateLimit{Limit: read, Window: time.Hour},
			Write: handlers.RateLimit{Limit: write, Window: time.Hour}, Share: 50 * time.Millisecond}
	}
}

// requireLimited checks a 429: a problem document with Retry-After and
// the RateLimit headers of class.
func requireLimited(t *testing.T, r tenantrytest.Response, class string, quota int) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.Status, string(r.Body))
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	require.Equal(t, "rate_limited", r.JSON["code"])
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds")
	require.True(t, retry >= 1 && retry <= 2*3600, "Retry-After %d within two windows", retry)
	require.Equal(t, fmt.Sprintf(`"%s";q=%d;w=3600`, class, quota), r.Header.Get("RateLimit-Policy"))
	require.Equal(t, fmt.Sprintf(`"%s";r=0;t=%d`, class, retry), r.Header.Get("RateLimit"))
}

// TestRateLimit sends twice the quota: the quota is served, with the
// remaining count going down, and the rest is refused with 429.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	sys := tenantrytest.Start(t, limited(5, 3))
	_, token := sys.Partner()
	for i := range 10 {
		r := sys.Do("GET", "/api/subaccount", token, nil)
		if i >= 5 {
			requireLimited(t, r, "read", 5)
			continue
		}
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, `"read";q=5;w=3600`, r.Header.Get("RateLimit-Policy"))
		require.Regexp(t, fmt.Sprintf(`^"read";r=%d;t=\d+$`, 4-i), r.Header.Get("RateLimit"))
	}

	t.Run("ClassesApart", func(t *testing.T) {
		for i := range 6 {
			r := sys.Do("POST", "/api/keys", token, map[string]any{"name": "k"})
			if i >= 3 {
				requireLimited(t, r, "write", 3)
				continue
			}
			require.Equal(t, http.StatusCreated, r.Status, "writes have their own quota: %s", r.Body)
		}
	})
	t.Run("PerCredential", func(t *testing.T) {
		_, other := sys.Partner()
		require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", other, nil).Status)
	})
	t.Run("KeyAndItsTokensCountAsOne", func(t *testing.T) {
		_, owner := sys.Partner()
		_, key := newKey(t, sys, owner, "limited", "member")
		exchanged := sys.Do("POST", "/api/auth/token", key, nil)
		require.Equal(t, http.StatusOK, exchanged.Status, "token exchange is in the auth class")
		require.Contains(t, exchanged.Header.Get("RateLimit-Policy"), `"auth";q=60;w=60`)
		token := exchanged.JSON["token"].(string)
		for i := range 5 {
			credential := []string{key, token}[i%2]
			require.Equal(t, http.StatusOK, sys.Do("GET", "/api/subaccount", credential, nil).Status)
		}
		requireLimited(t, sys.Do("GET", "/api/subaccount", token, nil), "read", 5)
		requireLimited(t, sys.Do("GET", "/api/subaccount", key, nil), "read", 5)
	})
}

// TestRateLimitAcrossReplicas: two API replicas share one quota through
// Postgres.
func TestRateLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := tenantrytest.Start(t, limited(6, 100))
	b := tenantrytest.Start(t, func(c *node.Config) { limited(6, 100)(c); c.Worker = false })
	_, token := a.Partner()
	shared := func() int64 {
		var n int64
		err := a.Node.Store.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(count), 0) FROM core.rate_counters
			WHERE key = 'read:cred:' || $1`, tokenID(t, token)).Scan(&n)
		require.NoError(t, err)
		return n
	}
	for range 3 {
		require.Equal(t, http.StatusOK, a.Do("GET", "/api/subaccount", token, nil).Status)
	}
	require.Eventually(t, func() bool { return shared() == 3 }, 5*time.Second, 20*time.Millisecond)
	for range 3 {
		require.Equal(t, http.StatusOK, b.Do("GET", "/api/subaccount", token, nil).Status)
	}
	require.Eventually(t, func() bool { return shared() == 6 }, 5*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a few share intervals: each replica has read the total
	requireLimited(t, a.Do("GET", "/api/subaccount", token, nil), "read", 6)
	requireLimited(t, b.Do("GET", "/api/subaccount", token, nil), "read", 6)
}

// tokenID is a token's jti.
func tokenID(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	require.NoError(t, err)
	return tok.Claims.(jwt.MapClaims)["jti"].(string)
}

func TestParseRateLimits(t *testing.T) {
	t.Parallel()
	l, err := handlers.ParseRateLimits("read=600/1m, write=120/30s")
	require.NoError(t, err)
	require.Equal(t, handlers.RateLimit{Limit: 600, Window: time.Minute}, l.Read)
	require.Equal(t, handlers.RateLimit{Limit: 120, Window: 30 * time.Second}, l.Write)
	require.Equal(t, handlers.RateLimit{Limit: 60, Window: time.Minute}, l.Auth, "unset classes keep their defaults")
	l, err = handlers.ParseRateLimits("")
	require.NoError(t, err)
	require.Equal(t, 6000, l.Read.Limit)
	l, err = handlers.ParseRateLimits("off")
	require.NoError(t, err)
	require.True(t, l.Off)
	for _, bad := range []string{"read=0/1m", "read=10", "reads=10/1m", "read=10/1500ms", "read=x/1m", "write=10/0s"} {
		_, err := handlers.ParseRateLimits(bad)
		require.Error(t, err, bad)
	}
}

// TestAuthLimitsPerAddress: sign-ins and invitation accepts count against
// the client's address as well as against the person or link, so one
// client cannot try many people; an email that cannot be one is refused
// at once; and sign-in counters are keyed by a hash, never by what was
// typed.
func TestAuthLimitsPerAddress(t *testing.T) {
	t.Parallel()
	db := tenantrytest.Database(t) // counters of its own: every test's client is 127.0.0.1
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.DatabaseURL = db
		c.HTTP.RateLimits = handlers.RateLimits{Auth: handlers.RateLimit{Limit: 4, Window: time.Hour}, Share: 50 * time.Millisecond}
	})
	_, partner := sys.Partner()
	app := sys.Do("POST", "/api/oauth/apps", partner, map[string]any{"name": "app", "redirect_uris": []string{redirectURI}})
	require.Equal(t, http.StatusCreated, app.Status, string(app.Body))
	_, challenge := pkce()
	signIn := func(email string) (int, string) {
		form := url.Values{"step": {"login"}, "email": {email}, "password": {password}, "client_id": {app.JSON["client_id"].(string)},
			"redirect_uri": {redirectURI}, "response_type": {"code"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		resp, err := http.PostForm(sys.URL+"/oauth/authorize", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	status, _ := signIn("ada@example.com")
	require.Equal(t, http.StatusUnauthorized, status)
	status, page := signIn(strings.Repeat("a", 250) + "@example.com")
	require.Equal(t, http.StatusBadRequest, status, "an email over 254 characters")
	require.Contains(t, page, "Enter a valid email address.")
	for _, email := range []string{"bob@example.com", "carol@example.com"} {
		status, _ := signIn(email)
		require.Equal(t, http.StatusUnauthorized, status, email)
	}
	status, page = signIn("dan@example.com")
	require.Equal(t, http.StatusTooManyRequests, status, "a fifth attempt from one address, whoever it is for: %s", page)
	r := sys.Do("POST", "/api/invitations/accept", "", map[string]any{"token": "a-link", "password": password})
	require.Equal(t, http.StatusTooManyRequests, r.Status, "invitation accepts share the address's quota: %s", r.Body)
	require.NotEmpty(t, r.Header.Get("Retry-After"))

	var keys []string
	require.Eventually(t, func() bool {
		rows, err := sys.Node.Store.Pool().Query(context.Background(), `SELECT key FROM core.rate_counters WHERE key LIKE 'auth:login:%'`)
		require.NoError(t, err)
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return len(keys) == 3
	}, 5*time.Second, 20*time.Millisecond, "one sign-in counter per person tried (not the refused email)")
	for _, k := range keys {
		require.NotContains(t, k, "example.com", "keyed by a hash")
		require.Len(t, k, len("auth:login:")+43)
	}
}
