package handlers_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

const redirectURI = "https://app.example/callback"

// oauthFixture is a partner with two accounts (a user in each, and one
// person who is a user of both) and a registered third-party app.
type oauthFixture struct {
	sys                *tenantrytest.System
	db                 string // its own database: sign-ins and accepts count against one client address
	partner            string
	accountA, accountB string
	clientID, secret   string
	browser            *http.Client // does not follow redirects
}

const password = "a long enough passphrase"

func setupOAuth(t *testing.T) *oauthFixture {
	t.Helper()
	db := tenantrytest.Database(t)
	sys := tenantrytest.Start(t, func(c *node.Config) { c.DatabaseURL = db })
	_, partner := sys.Partner()
	f := &oauthFixture{sys: sys, db: db, partner: partner, accountA: create(t, sys, partner, "oauth-a"),
		accountB: create(t, sys, partner, "oauth-b"),
		browser:  &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, u := range []struct{ account, email string }{
		{f.accountA, "ada@example.com"}, {f.accountB, "bob@example.com"},
		{f.accountA, "both@example.com"}, {f.accountB, "both@example.com"},
	} {
		_, link := invite(t, sys, partner, u.account, u.email)
		r := sys.Do("POST", "/api/invitations/accept", "", map[string]any{"token": link, "password": password})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	}
	f.clientID, f.secret = f.register(t, redirectURI)
	return f
}

// register registers an app and returns its client id and secret.
func (f *oauthFixture) register(t *testing.T, redirects ...string) (id, secret string) {
	t.Helper()
	r := f.sys.Do("POST", "/api/oauth/apps", f.partner, map[string]any{"name": "Sheets Sync", "redirect_uris": redirects})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.JSON["client_id"].(string), r.JSON["client_secret"].(string)
}

// pkce returns a fresh verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeQuery is a valid authorization request for f's app.
func (f *oauthFixture) authorizeQuery(challenge string) url.Values {
	return url.Values{"client_id": {f.clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"state": {"xyz-state"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

// do sends a browser request; form (if not nil) is posted.
func (f *oauthFixture) do(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.sys.URL+path, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.browser.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

var (
	consentField = regexp.MustCompile(`name="consent" value="([^"]+)"`)
	userField    = regexp.MustCompile(`name="user" value="([^"]+)"`)
)

// consentPage signs in with q and returns the consent page.
func (f *oauthFixture) consentPage(t *testing.T, q url.Values, email string) string {
	t.Helper()
	resp, page := f.do(t, "GET", "/oauth/authorize?"+q.Encode(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	login := url.Values{"step": {"login"}, "email": {email}, "password": {password}}
	for k, v := range q {
		login[k] = v
	}
	resp, page = f.do(t, "POST", "/oauth/authorize", login)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "Allow Sheets Sync?")
	return page
}

// answer posts the consent page's answer and returns where it redirects.
func (f *oauthFixture) answer(t *testing.T, page, decision, user string) *url.URL {
	t.Helper()
	if user == "" {
		user = userField.FindStringSubmatch(page)[1]
	}
	resp, body := f.do(t, "POST", "/oauth/authorize", url.Values{"step": {"consent"},
		"consent": {consentField.FindStringSubmatch(page)[1]}, "user": {user}, "decision": {decision}})
	require.Equal(t, http.StatusFound, resp.StatusCode, body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// code runs the whole authorization for email and returns the code and
// its verifier.
func (f *oauthFixture) code(t *testing.T, email string) (code, verifier string) {
	t.Helper()
	verifier, challenge := pkce()
	loc := f.answer(t, f.consentPage(t, f.authorizeQuery(challenge), email), "allow", "")
	require.Equal(t, redirectURI, loc.Scheme+"://"+loc.Host+loc.Path)
	require.Equal(t, "xyz-state", loc.Query().Get("state"), "state echoed")
	require.NotEmpty(t, loc.Query().Get("code"))
	return loc.Query().Get("code"), verifier
}

// token calls the token endpoint as client id/secret.
func (f *oauthFixture) token(t *testing.T, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	status, out, cache, err := tokenCall(f.sys.URL, "application/x-www-form-urlencoded", id, secret, form)
	require.NoError(t, err)
	if status == http.StatusOK {
		require.Equal(t, "no-store", cache)
	}
	return status, out
}

// tokenCall posts form to the token endpoint of the API at base as client
// id/secret, and returns the status, the body and the Cache-Control
// header. Safe to call from any goroutine.
func tokenCall(base, contentType, id, secret string, form url.Values) (status int, out map[string]any, cache string, err error) {
	req, err := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header.Get("Cache-Control"), err
}

// exchange redeems a code and returns the access and refresh tokens.
func (f *oauthFixture) exchange(t *testing.T, code, verifier string) (access, refresh string) {
	t.Helper()
	status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "Bearer", out["token_type"])
	require.EqualValues(t, 172800, out["expires_in"])
	return out["access_token"].(string), out["refresh_token"].(string)
}

// tokens runs the authorization for email and redeems the code.
func (f *oauthFixture) tokens(t *testing.T, email string) (access, refresh string) {
	t.Helper()
	code, verifier := f.code(t, email)
	return f.exchange(t, code, verifier)
}

func (f *oauthFixture) refresh(t *testing.T, refresh string) (int, map[string]any) {
	t.Helper()
	return f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
}

// works reports the status of the access token on its own account.
func (f *oauthFixture) works(t *testing.T, access string) int {
	t.Helper()
	return f.sys.Do("GET", "/api/subaccount/"+f.accountA, access, nil).Status
}

func TestOAuthServer(t *testing.T) {
	t.Parallel()
	f := setupOAuth(t)

	t.Run("CodeFlow", func(t *testing.T) {
		access, refresh := f.tokens(t, "ada@example.com")
		require.NotEmpty(t, refresh)
		require.Equal(t, http.StatusOK, f.works(t, access))
		require.Equal(t, http.StatusNotFound, f.sys.Do("GET", "/api/subaccount/"+f.accountB, access, nil).Status,
			"scoped to the account that granted it")
		require.Equal(t, http.StatusForbidden, f.sys.Do("GET", "/api/subaccount", access, nil).Status, "not a partner credential")
		require.Equal(t, http.StatusForbidden, f.sys.Do("POST", "/api/auth/token", access, nil).Status)
	})
	t.Run("RedirectURIVariants", func(t *testing.T) {
		_, challenge := pkce()
		for _, uri := range []string{redirectURI + "/", "https://APP.example/callback", "https://app.example/Callback",
			redirectURI + "?next=x", "https://evil.example/callback", "http://app.example/callback", ""} {
			q := f.authorizeQuery(challenge)
			q.Set("redirect_uri", uri)
			resp, page := f.do(t, "GET", "/oauth/authorize?"+q.Encode(), nil)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, uri)
			require.Empty(t, resp.Header.Get("Location"), "never redirected to an unregistered URI: %s", uri)
			require.Contains(t, page, "redirect_uri is not one the application registered")
		}
		q := f.authorizeQuery(challenge)
		q.Set("client_id", "oac_unknown")
		resp, _ := f.do(t, "GET", "/oauth/authorize?"+q.Encode(), nil)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Location"))
	})
	t.Run("RequestErrorsGoBackToTheClient", func(t *testing.T) {
		_, challenge := pkce()
		for name, tc := range map[string]struct {
			param, value, error string
		}{
			"PKCEMissing":        {"code_challenge", "", "invalid_request"},
			"PKCEPlain":          {"code_challenge_method", "plain", "invalid_request"},
			"PKCEMethodMissing":  {"code_challenge_method", "", "invalid_request"},
			"PKCEMalformed":      {"code_challenge", "short", "invalid_request"},
			"ImplicitGrant":      {"response_type", "token", "unsupported_response_type"},
			"FragmentMode":       {"response_mode", "fragment", "invalid_request"},
			"ResponseTypeAbsent": {"response_type", "", "unsupported_response_type"},
		} {
			q := f.authorizeQuery(challenge)
			q.Set(tc.param, tc.value)
			resp, _ := f.do(t, "GET", "/oauth/authorize?"+q.Encode(), nil)
			require.Equal(t, http.StatusFound, resp.StatusCode, name)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, tc.error, loc.Query().Get("error"), name)
			require.Equal(t, "xyz-state", loc.Query().Get("state"), name)
			require.Empty(t, loc.Query().Get("code"), name)
		}
	})
	t.Run("PKCEVerifier", func(t *testing.T) {
		for name, verifier := range map[string]string{"Wrong": strings.Repeat("w", 50), "Missing": "", "Short": "abc"} {
			code, good := f.code(t, "ada@example.com")
			status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
			require.Equal(t, http.StatusBadRequest, status, name)
			require.Equal(t, "invalid_grant", out["error"], name)
			status, _ = f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirectURI}, "code_verifier": {good}})
			require.Equal(t, http.StatusBadRequest, status, "%s: a refused code is spent", name)
		}
	})
	t.Run("RedirectURIMustMatchAtTheTokenEndpoint", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI + "/"}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_grant", out["error"])
	})
	t.Run("CodeReuse", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		access, refresh := f.exchange(t, code, verifier)
		require.Equal(t, http.StatusOK, f.works(t, access))
		status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_grant", out["error"])
		require.Equal(t, http.StatusUnauthorized, f.works(t, access), "reusing a code revokes what it issued")
		status, _ = f.refresh(t, refresh)
		require.Equal(t, http.StatusBadRequest, status)
	})
	t.Run("OtherClientsCode", func(t *testing.T) {
		id, secret := f.register(t, redirectURI)
		code, verifier := f.code(t, "ada@example.com")
		status, out := f.token(t, id, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_grant", out["error"])
		f.exchange(t, code, verifier) // still its own client's
	})
	t.Run("ExpiredCode", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		_, err := f.sys.Node.Store.Pool().Exec(context.Background(),
			`UPDATE core.oauth_grants SET code_expires_at = now() - interval '1 second' WHERE code_hash = sha256($1::bytea)`, []byte(code))
		require.NoError(t, err)
		status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_grant", out["error"])
	})
	t.Run("RefreshRotationReuseRevokesTheFamily", func(t *testing.T) {
		a1, r1 := f.tokens(t, "ada@example.com")
		status, out := f.refresh(t, r1)
		require.Equal(t, http.StatusOK, status, out)
		a2, r2 := out["access_token"].(string), out["refresh_token"].(string)
		require.NotEqual(t, r1, r2, "rotated")
		require.Equal(t, http.StatusOK, f.works(t, a2))

		status, out = f.refresh(t, r1)
		require.Equal(t, http.StatusBadRequest, status, "r1 was used")
		require.Equal(t, "invalid_grant", out["error"])
		status, _ = f.refresh(t, r2)
		require.Equal(t, http.StatusBadRequest, status, "the whole family is revoked")
		require.Equal(t, http.StatusUnauthorized, f.works(t, a1))
		require.Equal(t, http.StatusUnauthorized, f.works(t, a2))
	})
	t.Run("Revocation", func(t *testing.T) {
		revoke := func(id, secret, token string) int {
			req, err := http.NewRequest("POST", f.sys.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		access, refresh := f.tokens(t, "ada@example.com")
		other, otherSecret := f.register(t, redirectURI)
		require.Equal(t, http.StatusOK, revoke(other, otherSecret, access), "answered, but another client's token is untouched")
		require.Equal(t, http.StatusOK, f.works(t, access))
		require.Equal(t, http.StatusOK, revoke(f.clientID, f.secret, access))
		require.Equal(t, http.StatusUnauthorized, f.works(t, access))
		status, out := f.refresh(t, refresh)
		require.Equal(t, http.StatusOK, status, "revoking an access token leaves the grant")
		require.Equal(t, http.StatusOK, revoke(f.clientID, f.secret, out["refresh_token"].(string)))
		require.Equal(t, http.StatusUnauthorized, f.works(t, out["access_token"].(string)), "revoking a refresh token revokes its grant")
		status, _ = f.refresh(t, out["refresh_token"].(string))
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, http.StatusOK, revoke(f.clientID, f.secret, "not-a-token"))
		require.Equal(t, http.StatusUnauthorized, revoke(f.clientID, "wrong", access))
	})
	t.Run("ClientAuthentication", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		status, out := f.token(t, f.clientID, "wrong-secret", form)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "invalid_client", out["error"])
		status, _ = f.token(t, "oac_nobody", f.secret, form)
		require.Equal(t, http.StatusUnauthorized, status)
		f.exchange(t, code, verifier) // a refused client did not spend the code
	})
	t.Run("ContentTypeParameters", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		for _, ct := range []string{"text/plain", "application/json", "", "application/x-www-form-urlencoded; charset"} {
			status, out, _, err := tokenCall(f.sys.URL, ct, f.clientID, f.secret, form)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, status, ct)
			require.Equal(t, "invalid_request", out["error"], ct)
		}
		status, out, _, err := tokenCall(f.sys.URL, "Application/X-WWW-Form-URLEncoded; charset=UTF-8", f.clientID, f.secret, form)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "a charset parameter is fine: %v", out)
	})
	t.Run("NoOtherGrants", func(t *testing.T) {
		for _, grant := range []string{"password", "client_credentials", "implicit", ""} {
			status, out := f.token(t, f.clientID, f.secret, url.Values{"grant_type": {grant},
				"username": {"ada@example.com"}, "password": {password}})
			require.Equal(t, http.StatusBadRequest, status, grant)
			require.Contains(t, []string{"unsupported_grant_type", "invalid_request"}, out["error"], grant)
		}
	})
	t.Run("SignIn", func(t *testing.T) {
		_, challenge := pkce()
		q := f.authorizeQuery(challenge)
		login := url.Values{"step": {"login"}, "email": {"ada@example.com"}, "password": {"not the password"}}
		for k, v := range q {
			login[k] = v
		}
		resp, page := f.do(t, "POST", "/oauth/authorize", login)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, page, "The email or password is wrong.")
		require.NotContains(t, page, `name="consent"`)
		login.Set("email", "nobody@example.com")
		resp, _ = f.do(t, "POST", "/oauth/authorize", login)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("Deny", func(t *testing.T) {
		_, challenge := pkce()
		loc := f.answer(t, f.consentPage(t, f.authorizeQuery(challenge), "ada@example.com"), "deny", "")
		require.Equal(t, "access_denied", loc.Query().Get("error"))
		require.Equal(t, "xyz-state", loc.Query().Get("state"))
		require.Empty(t, loc.Query().Get("code"))
	})
	t.Run("ConsentAnsweredOnce", func(t *testing.T) {
		_, challenge := pkce()
		page := f.consentPage(t, f.authorizeQuery(challenge), "ada@example.com")
		f.answer(t, page, "allow", "")
		resp, body := f.do(t, "POST", "/oauth/authorize", url.Values{"step": {"consent"},
			"consent": {consentField.FindStringSubmatch(page)[1]}, "decision": {"allow"}})
		require.Equal(t, http.StatusNotFound, resp.StatusCode, body)
		require.Empty(t, resp.Header.Get("Location"))
	})
	t.Run("UserOfTwoAccountsChooses", func(t *testing.T) {
		verifier, challenge := pkce()
		page := f.consentPage(t, f.authorizeQuery(challenge), "both@example.com")
		users := userField.FindAllStringSubmatch(page, -1)
		require.Len(t, users, 2, "one choice per account")
		require.Contains(t, page, "oauth-a")
		require.Contains(t, page, "oauth-b")
		loc := f.answer(t, page, "allow", users[1][1])
		access, _ := f.exchange(t, loc.Query().Get("code"), verifier)
		require.Equal(t, http.StatusOK, f.sys.Do("GET", "/api/subaccount/"+f.accountB, access, nil).Status)
		require.Equal(t, http.StatusNotFound, f.sys.Do("GET", "/api/subaccount/"+f.accountA, access, nil).Status)
	})
}

func TestOAuthApps(t *testing.T) {
	t.Parallel()
	f := setupOAuth(t)
	t.Run("SecretShownOnce", func(t *testing.T) {
		r := f.sys.Do("GET", "/api/oauth/apps", f.partner, nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.JSON["items"], 1)
		require.Equal(t, []any{redirectURI}, r.JSON["items"].([]any)[0].(map[string]any)["redirect_uris"])
		require.NotContains(t, string(r.Body), f.secret)
		require.NotContains(t, string(r.Body), "secret")
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, uris := range [][]string{{}, {"http://app.example/cb"}, {"https://app.example/cb#frag"}, {"/relative"},
			{"https://user:pw@app.example/cb"}} {
			r := f.sys.Do("POST", "/api/oauth/apps", f.partner, map[string]any{"name": "x", "redirect_uris": uris})
			require.Equal(t, http.StatusBadRequest, r.Status, "%v", uris)
			require.Equal(t, "redirect_uris", r.JSON["errors"].([]any)[0].(map[string]any)["field"])
		}
		r := f.sys.Do("POST", "/api/oauth/apps", f.partner, map[string]any{"name": "dev", "redirect_uris": []string{"http://localhost:3000/cb"}})
		require.Equal(t, http.StatusCreated, r.Status, "http on localhost, for development")
	})
	t.Run("OwnersAndAdminsOnly", func(t *testing.T) {
		_, member := newKey(t, f.sys, f.partner, "member", "member")
		r := f.sys.Do("POST", "/api/oauth/apps", member, map[string]any{"name": "x", "redirect_uris": []string{redirectURI}})
		require.Equal(t, http.StatusForbidden, r.Status)
		_, other := f.sys.Partner()
		require.Equal(t, http.StatusNotFound, f.sys.Do("DELETE", "/api/oauth/apps/"+f.clientID, other, nil).Status)
	})
	t.Run("DeleteRevokes", func(t *testing.T) {
		access, refresh := f.tokens(t, "ada@example.com")
		require.Equal(t, http.StatusOK, f.works(t, access))
		require.Equal(t, http.StatusNoContent, f.sys.Do("DELETE", "/api/oauth/apps/"+f.clientID, f.partner, nil).Status)
		require.Equal(t, http.StatusUnauthorized, f.works(t, access))
		status, _ := f.refresh(t, refresh)
		require.Equal(t, http.StatusUnauthorized, status, "the client itself is gone")
	})
}

// TestOAuthTokenFault cuts the API off from Postgres while it issues an
// access token, after the code or refresh token was checked: the client
// gets a 500, and its retry with the same code or refresh token must
// work — not be taken for reuse, which would revoke the user's grant.
func TestOAuthTokenFault(t *testing.T) {
	t.Parallel()
	f := setupOAuth(t)
	proxy, via := tenantrytest.NewPostgresProxy(t)
	u, err := url.Parse(via)
	require.NoError(t, err)
	own, err := url.Parse(f.db)
	require.NoError(t, err)
	u.Path = own.Path
	api := tenantrytest.StartWithNATS(t, f.sys.NATS, func(c *node.Config) { c.Worker, c.DatabaseURL = false, u.String() })

	// cut sends form to api's token endpoint; while the access token's
	// record waits for the account row (its foreign key), held here, the
	// proxy is cut. It returns the answer's status.
	cut := func(t *testing.T, form url.Values) int {
		ctx := context.Background()
		hold, err := f.sys.Node.Store.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = hold.Rollback(ctx) }()
		_, err = hold.Exec(ctx, `SELECT 1 FROM core.accounts WHERE id = $1 FOR UPDATE`, f.accountA)
		require.NoError(t, err)
		answered := make(chan int, 1)
		go func() {
			status, _, _, _ := tokenCall(api.URL, "application/x-www-form-urlencoded", f.clientID, f.secret, form)
			answered <- status
		}()
		require.Eventually(t, func() bool {
			var n int
			err := f.sys.Node.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO core.tokens%'`).Scan(&n)
			return err == nil && n > 0
		}, 10*time.Second, 10*time.Millisecond, "the access token's record waits for the account")
		proxy.Cut()
		status := <-answered
		require.NoError(t, hold.Rollback(ctx))
		proxy.Restore()
		return status
	}

	t.Run("RefreshToken", func(t *testing.T) {
		a1, r1 := f.tokens(t, "ada@example.com")
		require.Equal(t, http.StatusInternalServerError, cut(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1}}))
		status, out := f.refresh(t, r1)
		require.Equal(t, http.StatusOK, status, "the retry with the same refresh token works: %v", out)
		require.Equal(t, http.StatusOK, f.works(t, a1), "the grant was not revoked")
		require.Equal(t, http.StatusOK, f.works(t, out["access_token"].(string)))
		status, _ = f.refresh(t, out["refresh_token"].(string))
		require.Equal(t, http.StatusOK, status, "and the rotation goes on")
	})
	t.Run("Code", func(t *testing.T) {
		code, verifier := f.code(t, "ada@example.com")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		require.Equal(t, http.StatusInternalServerError, cut(t, form))
		access, refresh := f.exchange(t, code, verifier) // the retry with the same code works
		require.Equal(t, http.StatusOK, f.works(t, access))
		status, _ := f.refresh(t, refresh)
		require.Equal(t, http.StatusOK, status)
	})
}
