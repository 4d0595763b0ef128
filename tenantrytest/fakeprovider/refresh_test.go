package fakeprovider_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	first := connect(t, p)
	second := refresh(t, p, first.str("refresh_token"))
	require.Equal(t, http.StatusOK, second.status, second.body)
	require.NotEqual(t, first.str("refresh_token"), second.str("refresh_token"))
	require.NotEqual(t, first.str("access_token"), second.str("access_token"))
	require.Equal(t, "read write", second.str("scope"))
	require.Equal(t, http.StatusOK, me(t, p, second.str("access_token")).status)
	require.Equal(t, http.StatusOK, me(t, p, first.str("access_token")).status, "rotation leaves unexpired access tokens alone")
	require.Equal(t, 1, p.RefreshCalls())

	t.Run("ErrReuseRevokesFamily", func(t *testing.T) {
		requireOAuthError(t, refresh(t, p, first.str("refresh_token")), 400, "invalid_grant")
		requireOAuthError(t, refresh(t, p, second.str("refresh_token")), 400, "invalid_grant")
		require.Equal(t, http.StatusUnauthorized, me(t, p, second.str("access_token")).status)
		require.Equal(t, 3, p.RefreshCalls())
	})
	t.Run("OtherGrantsUnaffected", func(t *testing.T) {
		other := connect(t, p)
		require.Equal(t, http.StatusOK, refresh(t, p, other.str("refresh_token")).status)
	})
}

func TestRevokeGrant(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	a, b := connect(t, p), connect(t, p)
	p.RevokeGrant()
	for _, tok := range []result{a, b} {
		requireOAuthError(t, refresh(t, p, tok.str("refresh_token")), 400, "invalid_grant")
		require.Equal(t, http.StatusUnauthorized, me(t, p, tok.str("access_token")).status)
	}
	c := connect(t, p)
	require.Equal(t, http.StatusOK, refresh(t, p, c.str("refresh_token")).status, "a new authorization is a new grant")
}

// Two workers refreshing with the same token is the race tenantry must
// not run: one wins, the rest trip reuse detection, and the grant is lost
// even for the winner.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{RefreshDelay: 50 * time.Millisecond})
	tok := connect(t, p)
	const n = 8
	results, errs := make([]result, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = send(refreshRequest(p, tok.str("refresh_token"))) })
	}
	wg.Wait()
	var won []result
	for i, r := range results {
		require.NoError(t, errs[i])
		if r.status == http.StatusOK {
			won = append(won, r)
			continue
		}
		requireOAuthError(t, r, 400, "invalid_grant")
	}
	require.Len(t, won, 1)
	require.Equal(t, n, p.RefreshCalls())
	requireOAuthError(t, refresh(t, p, won[0].str("refresh_token")), 400, "invalid_grant")
	require.Equal(t, http.StatusUnauthorized, me(t, p, won[0].str("access_token")).status)
}

func TestRefreshDelay(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{RefreshDelay: 100 * time.Millisecond})
	tok := connect(t, p)
	start := time.Now()
	require.Equal(t, http.StatusOK, refresh(t, p, tok.str("refresh_token")).status)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestAccessTokenTTL(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	p := fakeprovider.New(t, fakeprovider.Options{AccessTokenTTL: 2 * time.Second, Now: clk.now})
	tok := connect(t, p)
	require.EqualValues(t, 2, tok.body["expires_in"])
	require.Equal(t, http.StatusOK, me(t, p, tok.str("access_token")).status)
	clk.advance(2 * time.Second)
	r := me(t, p, tok.str("access_token"))
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "invalid_token", r.body["error"])
	require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	next := refresh(t, p, tok.str("refresh_token"))
	require.Equal(t, http.StatusOK, next.status, "refresh tokens do not expire")
	require.Equal(t, http.StatusOK, me(t, p, next.str("access_token")).status)
}
