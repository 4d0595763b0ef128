package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
