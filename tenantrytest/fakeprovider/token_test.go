package fakeprovider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{ClientID: "my app", ClientSecret: "s3cr+t"})
	post := func(form url.Values, user, pass string) result {
		req, err := http.NewRequest("POST", p.URL+"/oauth/token", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
		}
		return do(t, req)
	}
	grant := func() url.Values {
		// an unknown refresh token: client authentication comes first
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt_unknown"}}
	}
	withBody := func(id, secret string) url.Values {
		f := grant()
		f.Set("client_id", id)
		f.Set("client_secret", secret)
		return f
	}

	requireOAuthError(t, post(grant(), "my app", "s3cr+t"), 400, "invalid_grant")
	requireOAuthError(t, post(withBody("my app", "s3cr+t"), "", ""), 400, "invalid_grant")
	for name, r := range map[string]result{
		"WrongBasic":   post(grant(), "my app", "wrong"),
		"WrongBody":    post(withBody("my app", "wrong"), "", ""),
		"UnknownBasic": post(grant(), "other", "s3cr+t"),
		"None":         post(grant(), "", ""),
	} {
		requireOAuthError(t, r, 401, "invalid_client")
		require.NotEmpty(t, r.header.Get("WWW-Authenticate"), name)
	}
	requireOAuthError(t, post(withBody("my app", "s3cr+t"), "my app", "s3cr+t"), 400, "invalid_request")
}

func TestTokenEndpointRejects(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	requireOAuthError(t, postToken(t, p, url.Values{"grant_type": {"password"}}), 400, "unsupported_grant_type")
	requireOAuthError(t, postToken(t, p, url.Values{}), 400, "invalid_request")
	requireOAuthError(t, postToken(t, p, url.Values{"grant_type": {"refresh_token", "refresh_token"}}), 400, "invalid_request")

	req, err := http.NewRequest("POST", p.URL+"/oauth/token", strings.NewReader(`{"grant_type":"refresh_token"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	requireOAuthError(t, do(t, req), 400, "invalid_request")
	require.Equal(t, http.StatusMethodNotAllowed, get(t, p.URL+"/oauth/token").status)
}

func TestFailTokenEndpoint(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	pk := newPKCE()
	cb := approve(t, p, "st", &pk)
	p.FailTokenEndpoint(2, http.StatusInternalServerError)
	require.Equal(t, http.StatusInternalServerError, exchange(t, p, cb.Get("code"), pk.verifier).status)
	require.Equal(t, http.StatusInternalServerError, refresh(t, p, "rt_any").status)
	tok := exchange(t, p, cb.Get("code"), pk.verifier)
	require.Equal(t, http.StatusOK, tok.status, "a failed call consumes nothing")
	require.Equal(t, 1, p.RefreshCalls(), "failed refresh calls count")
	require.Equal(t, 3, p.Requests("/oauth/token"))
}
