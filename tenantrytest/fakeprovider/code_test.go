package fakeprovider_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	p := fakeprovider.New(t, fakeprovider.Options{RequirePKCE: true, Now: clk.now})

	t.Run("OK", func(t *testing.T) {
		tok := connect(t, p)
		require.Equal(t, "Bearer", tok.str("token_type"))
		require.EqualValues(t, 3600, tok.body["expires_in"])
		require.Equal(t, "read write", tok.str("scope"))
		require.NotEmpty(t, tok.str("refresh_token"))
		require.Equal(t, "no-store", tok.header.Get("Cache-Control"))
		r := me(t, p, tok.str("access_token"))
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, map[string]any{"id": "user-1", "email": "user@example.com"}, r.body)
	})
	t.Run("ErrWrongVerifier", func(t *testing.T) {
		cb := approve(t, p, "st", new(newPKCE()))
		requireOAuthError(t, exchange(t, p, cb.Get("code"), newPKCE().verifier), 400, "invalid_grant")
	})
	t.Run("ErrMissingVerifier", func(t *testing.T) {
		cb := approve(t, p, "st", new(newPKCE()))
		requireOAuthError(t, exchange(t, p, cb.Get("code"), ""), 400, "invalid_grant")
	})
	t.Run("ErrRedirectURIMismatch", func(t *testing.T) {
		pk := newPKCE()
		cb := approve(t, p, "st", &pk)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {"http://app.example/other"}, "code_verifier": {pk.verifier}}
		requireOAuthError(t, postToken(t, p, form), 400, "invalid_grant")
	})
	t.Run("ErrCodeExpired", func(t *testing.T) {
		pk := newPKCE()
		cb := approve(t, p, "st", &pk)
		clk.advance(61 * time.Second)
		requireOAuthError(t, exchange(t, p, cb.Get("code"), pk.verifier), 400, "invalid_grant")
	})
	t.Run("ErrUnknownCode", func(t *testing.T) {
		requireOAuthError(t, exchange(t, p, "code_nope", newPKCE().verifier), 400, "invalid_grant")
	})
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	pk := newPKCE()
	cb := approve(t, p, "st", &pk)
	first := exchange(t, p, cb.Get("code"), pk.verifier)
	require.Equal(t, http.StatusOK, first.status)
	require.Equal(t, http.StatusOK, me(t, p, first.str("access_token")).status)

	requireOAuthError(t, exchange(t, p, cb.Get("code"), pk.verifier), 400, "invalid_grant")
	require.Equal(t, http.StatusUnauthorized, me(t, p, first.str("access_token")).status)
	requireOAuthError(t, refresh(t, p, first.str("refresh_token")), 400, "invalid_grant")
}

// PKCE is the client's choice without RequirePKCE, but a verifier sent
// for a code issued without a challenge means the client lost it.
func TestVerifierWithoutChallenge(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	cb := approve(t, p, "st", nil)
	requireOAuthError(t, exchange(t, p, cb.Get("code"), newPKCE().verifier), 400, "invalid_grant")
	cb = approve(t, p, "st", nil)
	require.Equal(t, http.StatusOK, exchange(t, p, cb.Get("code"), "").status)
}
