package fakeprovider_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

func TestConsentPage(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	resp, err := http.Get(authorizeURL(p, "st", nil))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	page := string(b)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	require.Contains(t, page, "<title>Authorize client-id</title>")
	require.Contains(t, page, `<form method="post" action="/oauth/decide">`)
	require.Contains(t, page, `id="approve"`)
	require.Contains(t, page, `id="deny"`)
}

func TestApprove(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	cb := approve(t, p, "state-1", nil)
	require.NotEmpty(t, cb.Get("code"))
	require.Equal(t, "state-1", cb.Get("state"))
	require.Equal(t, "c1", cb.Get("connection"), "the redirect URI's own query is kept")
	require.Empty(t, cb.Get("error"))
}

func TestDeny(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	raw, err := p.Deny(authorizeURL(p, "state-2", nil))
	require.NoError(t, err)
	cb, err := url.Parse(raw)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(raw, "http://app.example/oauth/callback?"), raw)
	q := cb.Query()
	require.Equal(t, "access_denied", q.Get("error"))
	require.NotEmpty(t, q.Get("error_description"))
	require.Equal(t, "state-2", q.Get("state"))
	require.Empty(t, q.Get("code"))
}

func TestAuthorizeRefused(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{RequirePKCE: true})
	edit := func(f func(url.Values)) string {
		pk := newPKCE()
		u, err := url.Parse(authorizeURL(p, "st", &pk))
		require.NoError(t, err)
		q := u.Query()
		f(q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	t.Run("UnknownClientNoRedirect", func(t *testing.T) {
		_, err := p.Approve(edit(func(q url.Values) { q.Set("client_id", "evil") }))
		require.ErrorContains(t, err, "400")
	})
	t.Run("BadRedirectURINoRedirect", func(t *testing.T) {
		_, err := p.Approve(edit(func(q url.Values) { q.Set("redirect_uri", "/relative") }))
		require.ErrorContains(t, err, "400")
	})
	for _, tc := range []struct {
		name string
		f    func(url.Values)
		code string
	}{
		{"ResponseTypeToken", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"PKCERequired", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"PlainChallenge", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"MalformedChallenge", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := p.Approve(edit(tc.f))
			require.NoError(t, err)
			cb, err := url.Parse(raw)
			require.NoError(t, err)
			require.Equal(t, tc.code, cb.Query().Get("error"), raw)
			require.Equal(t, "st", cb.Query().Get("state"))
			require.Empty(t, cb.Query().Get("code"))
		})
	}
}

// The consent form's fields come back from the user agent, so a forged
// one must not yield a code.
func TestDecideRevalidates(t *testing.T) {
	t.Parallel()
	p := fakeprovider.New(t, fakeprovider.Options{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"decision": {"approve"}, "response_type": {"code"}, "client_id": {"evil"}, "redirect_uri": {callback}}
	resp, err := client.PostForm(p.URL+"/oauth/decide", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	form.Set("client_id", "client-id")
	form.Set("decision", "maybe")
	resp, err = client.PostForm(p.URL+"/oauth/decide", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
