package fakeprovider_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// callback is the client's redirect URI; nothing listens there, since
// Approve and Deny stop at the redirect.
const callback = "http://app.example/oauth/callback?connection=c1"

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text()))
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeURL is what a client sends the user to; pk may be nil.
func authorizeURL(p *fakeprovider.Provider, state string, pk *pkce) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {"client-id"}, "redirect_uri": {callback},
		"state": {state}, "scope": {"read write"},
	}
	if pk != nil {
		q.Set("code_challenge", pk.challenge)
		q.Set("code_challenge_method", "S256")
	}
	return p.URL + "/oauth/authorize?" + q.Encode()
}

// approve runs the consent flow and returns the callback's query.
func approve(t *testing.T, p *fakeprovider.Provider, state string, pk *pkce) url.Values {
	t.Helper()
	cb, err := p.Approve(authorizeURL(p, state, pk))
	require.NoError(t, err)
	u, err := url.Parse(cb)
	require.NoError(t, err)
	require.Equal(t, "app.example", u.Host, cb)
	return u.Query()
}

type result struct {
	status int
	header http.Header
	body   map[string]any
}

func (r result) str(key string) string { s, _ := r.body[key].(string); return s }

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	r, err := send(req)
	require.NoError(t, err)
	return r
}

// send is do for goroutines other than the test's, where require cannot
// stop the test.
func send(req *http.Request) (result, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header}
	if err == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		err = json.Unmarshal(b, &r.body)
	}
	return r, err
}

// get calls the provider's API, with header name/value pairs.
func get(t *testing.T, rawURL string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func me(t *testing.T, p *fakeprovider.Provider, accessToken string) result {
	t.Helper()
	return get(t, p.URL+"/api/me", "Authorization", "Bearer "+accessToken)
}

// postToken calls the token endpoint authenticating with HTTP Basic.
func postToken(t *testing.T, p *fakeprovider.Provider, form url.Values) result {
	t.Helper()
	return do(t, tokenRequest(p, form))
}

func tokenRequest(p *fakeprovider.Provider, form url.Values) *http.Request {
	req, _ := http.NewRequest("POST", p.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("client-id", "client-secret")
	return req
}

func exchange(t *testing.T, p *fakeprovider.Provider, code, verifier string) result {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return postToken(t, p, form)
}

func refresh(t *testing.T, p *fakeprovider.Provider, refreshToken string) result {
	t.Helper()
	return do(t, refreshRequest(p, refreshToken))
}

func refreshRequest(p *fakeprovider.Provider, refreshToken string) *http.Request {
	return tokenRequest(p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// connect runs the whole authorization code flow with PKCE and returns
// the token response.
func connect(t *testing.T, p *fakeprovider.Provider) result {
	t.Helper()
	pk := newPKCE()
	cb := approve(t, p, "st", &pk)
	tok := exchange(t, p, cb.Get("code"), pk.verifier)
	require.Equal(t, http.StatusOK, tok.status, tok.body)
	return tok
}

func requireOAuthError(t *testing.T, r result, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, code, r.body["error"], r.body)
	require.NotEmpty(t, r.body["error_description"])
}

// clock is a test clock for Options.Now.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
