package fakeprovider_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestMeRejects(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	for _, tc := range []struct {
		name, header string
		challengeErr bool
	}{
		{"Missing", "", false},
		{"OtherScheme", "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=", false},
		{"Unknown", "Bearer at_unknown", true},
		{"APIKeyIsNoToken", "Bearer key-123", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, p.URL+"/api/me", "Authorization", tc.header)
			require.Equal(t, http.StatusUnauthorized, r.status)
			require.Equal(t, "invalid_token", r.body["error"])
			challenge := r.header.Get("WWW-Authenticate")
			require.Contains(t, challenge, "Bearer ")
			require.Equal(t, tc.challengeErr, strings.Contains(challenge, `error="invalid_token"`), challenge)
		})
	}
	t.Run("LowercaseScheme", func(t *testing.T) {
		tok := connect(t, p)
		require.Equal(t, http.StatusOK, get(t, p.URL+"/api/me", "Authorization", "bearer "+tok.str("access_token")).status)
	})
}

func TestKeyCheck(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{APIKey: "k-9"})
	ok := get(t, p.URL+"/api/key-check", "X-Api-Key", "k-9")
	require.Equal(t, http.StatusOK, ok.status)
	require.Equal(t, map[string]any{"ok": true}, ok.body)
	require.Equal(t, http.StatusOK, get(t, p.URL+"/api/key-check?api_token=k-9").status)
	for _, r := range []result{
		get(t, p.URL+"/api/key-check"),
		get(t, p.URL+"/api/key-check", "X-Api-Key", "key-123"),
		get(t, p.URL+"/api/key-check?api_token=k-8"),
	} {
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.NotEmpty(t, r.header.Get("WWW-Authenticate"))
	}
	require.Equal(t, 5, p.Requests("/api/key-check"))
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	p.FailNext(2, http.StatusTooManyRequests, "1")
	for range 2 {
		r := get(t, p.URL+"/api/key-check?api_token=key-123")
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.Equal(t, "1", r.header.Get("Retry-After"))
	}
	r := get(t, p.URL+"/api/key-check?api_token=key-123")
	require.Equal(t, http.StatusOK, r.status)
	require.Empty(t, r.header.Get("Retry-After"))
	require.Equal(t, 3, p.Requests("/api/key-check"))

	p.FailNext(1, http.StatusServiceUnavailable, "")
	r = get(t, p.URL+"/api/records/cursor?api_token=key-123")
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Empty(t, r.header.Get("Retry-After"))
	require.Equal(t, http.StatusOK, get(t, p.URL+"/api/records/cursor?api_token=key-123").status)
}

// The "401, refresh, retry" path: an expired token is refused, the
// refresh token still works, and its access token is accepted.
func TestExpireAccessTokens(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	tok := connect(t, p)
	require.Equal(t, http.StatusOK, me(t, p, tok.str("access_token")).status)
	p.ExpireAccessTokens()
	r := me(t, p, tok.str("access_token"))
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "invalid_token", r.body["error"])
	next := refresh(t, p, tok.str("refresh_token"))
	require.Equal(t, http.StatusOK, next.status)
	require.Equal(t, http.StatusOK, me(t, p, next.str("access_token")).status)
}
