package connectors_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
)

// embedded returns one of the shipped definitions.
func embedded(t *testing.T, id string) *connectors.Definition {
	t.Helper()
	c, err := connectors.LoadCatalog("")
	require.NoError(t, err)
	d, ok := c.Get(id)
	require.True(t, ok, id)
	return d
}

// invalidField asserts err is EINVALID naming field.
func invalidField(t *testing.T, err error, field string) {
	t.Helper()
	var e *tenantry.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, tenantry.EINVALID, e.Code)
	require.NotEmpty(t, e.Fields)
	assert.Equal(t, field, e.Fields[0].Field)
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	d := define(t, strings.Replace(acme, "/api/{{region}}", "/api/{{region}}/accounts/{{notes}}", 1))
	u, err := d.BaseURL(map[string]string{"subdomain": "shop-1", "region": "eu", "notes": "a/b c?d#e"})
	require.NoError(t, err)
	assert.Equal(t, "https://shop-1.acme.example/api/eu/accounts/a%2Fb%20c%3Fd%23e", u, "a path value is one escaped segment")

	for _, v := range []string{"evil.com/x", "evil.com", "a@evil.com", "x:1", ""} {
		_, err := d.BaseURL(map[string]string{"subdomain": v, "region": "eu", "notes": "n"})
		invalidField(t, err, "subdomain")
	}
}

func TestBaseURLWholeURL(t *testing.T) {
	t.Parallel()
	d := embedded(t, "salesforce")
	u, err := d.BaseURL(map[string]string{"instance_url": "https://acme.my.salesforce.com/"})
	require.NoError(t, err)
	assert.Equal(t, "https://acme.my.salesforce.com/services/data/v60.0", u)
	for _, v := range []string{"", "acme.my.salesforce.com", "https://u:p@evil.example", "https://x.example?y=1", "javascript:alert(1)"} {
		_, err := d.BaseURL(map[string]string{"instance_url": v})
		invalidField(t, err, "instance_url")
	}
	_, err = embedded(t, "secret_store").BaseURL(nil)
	assert.Error(t, err, "a secret_store connector has no base URL")
}

// received is what a test server saw of one request.
type received struct {
	method         string
	path, rawQuery string
	header         http.Header
	user, pass     string
	basic          bool
}

func recorder(t *testing.T) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		got <- received{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, header: r.Header.Clone(), user: u, pass: p, basic: ok}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

const applyAll = `id: acme
name: Acme
auth: {type: basic}
form:
  - {name: base_url, label: Base URL, type: url, required: true}
  - {name: user, label: User, required: true}
  - {name: pass, label: Password, type: password}
  - {name: key, label: Key, type: password, required: true}
  - {name: header_name, label: Header, default: X-Api-Key}
base_url: "{{base_url}}/v2"
apply:
  headers: {"{{header_name}}": "{{key}}", X-Static: "on"}
  query: {api_token: "{{key}}"}
  basic: {username: "{{user}}", password: "{{pass}}"}
check: {path: /me, method: HEAD}
`

func TestAuthorize(t *testing.T) {
	t.Parallel()
	srv, got := recorder(t)
	d := define(t, applyAll)
	values, err := d.Validate(map[string]any{"base_url": srv.URL + "/", "user": "ada", "key": "s3cr&t=1"})
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/v2/things?limit=5&api_token=old", nil)
	require.NoError(t, err)
	require.NoError(t, d.Authorize(req, values))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	r := <-got
	assert.Equal(t, "/v2/things", r.path)
	assert.Equal(t, "api_token=s3cr%26t%3D1&limit=5", r.rawQuery, "the query parameter is set, replacing one of the same name")
	assert.Equal(t, "s3cr&t=1", r.header.Get("X-Api-Key"), "header values are substituted raw")
	assert.Equal(t, "on", r.header.Get("X-Static"))
	assert.True(t, r.basic)
	assert.Equal(t, "ada", r.user)
	assert.Equal(t, "", r.pass, "an optional field not given is empty")
}

func TestAuthorizeRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	d := define(t, applyAll)
	values := map[string]string{"base_url": "https://api.acme.example", "user": "ada", "key": "k", "header_name": "X-Key"}
	for _, u := range []string{"https://evil.example/v2", "http://api.acme.example/v2", "https://api.acme.example.evil.example/"} {
		req := httptest.NewRequest("GET", u, nil)
		err := d.Authorize(req, values)
		require.Error(t, err, u)
		assert.Contains(t, err.Error(), "refusing to send credentials", u)
		assert.Empty(t, req.Header.Get("X-Key"), "nothing was applied")
	}
	req := httptest.NewRequest("GET", "https://API.acme.example/other/path", nil)
	assert.NoError(t, d.Authorize(req, values), "any path on the API's host")
}

func TestAuthorizeBadHeader(t *testing.T) {
	t.Parallel()
	d := define(t, applyAll)
	values := map[string]string{"base_url": "https://api.acme.example", "user": "ada", "key": "k", "header_name": "X Key"}
	err := d.Authorize(httptest.NewRequest("GET", "https://api.acme.example/v2", nil), values)
	invalidField(t, err, "header_name")
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		id     string
		values map[string]string
		method string
		url    string
		header map[string]string
	}{
		{"pipedrive", map[string]string{"company_domain": "acme", "api_token": "tok"}, "GET",
			"https://acme.pipedrive.com/api/v1/users/me?api_token=tok", nil},
		{"stripe", map[string]string{"secret_key": "sk_test_1"}, "GET",
			"https://api.stripe.com/v1/balance", map[string]string{"Authorization": "Bearer sk_test_1"}},
		{"shopify", map[string]string{"shop": "acme", "access_token": "shpat_1"}, "GET",
			"https://acme.myshopify.com/admin/api/2026-07/shop.json", map[string]string{"X-Shopify-Access-Token": "shpat_1"}},
		{"hubspot", map[string]string{"access_token": "at"}, "GET",
			"https://api.hubapi.com/crm/v3/objects/contacts?limit=1", map[string]string{"Authorization": "Bearer at"}},
		{"github", map[string]string{"access_token": "gho_1"}, "GET", "https://api.github.com/user",
			map[string]string{"Authorization": "Bearer gho_1", "Accept": "application/vnd.github+json", "X-Github-Api-Version": "2022-11-28"}},
		{"salesforce", map[string]string{"access_token": "at", "instance_url": "https://acme.my.salesforce.com"}, "GET",
			"https://acme.my.salesforce.com/services/data/v60.0/", map[string]string{"Authorization": "Bearer at"}},
		{"google_sheets", map[string]string{"access_token": "ya29"}, "GET",
			"https://openidconnect.googleapis.com/v1/userinfo", map[string]string{"Authorization": "Bearer ya29"}},
		{"rest_bearer", map[string]string{"base_url": "https://api.example.com/v1/", "token": "t", "check_path": "/me/a b"}, "GET",
			"https://api.example.com/v1/me/a%20b", map[string]string{"Authorization": "Bearer t", "Accept": "application/json"}},
		{"rest_api_key_header", map[string]string{"base_url": "https://api.example.com", "api_key": "k", "header_name": "X-Key", "check_path": "/"}, "GET",
			"https://api.example.com/", map[string]string{"X-Key": "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			req, err := embedded(t, tt.id).CheckRequest(ctx, tt.values)
			require.NoError(t, err)
			assert.Equal(t, tt.method, req.Method)
			assert.Equal(t, tt.url, req.URL.String())
			for k, v := range tt.header {
				assert.Equal(t, v, req.Header.Get(k), k)
			}
		})
	}
}

func TestCheckRequestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := embedded(t, "secret_store").CheckRequest(ctx, map[string]string{"secret": "s"})
	assert.ErrorIs(t, err, connectors.ErrNoCheck)

	d := embedded(t, "rest_bearer")
	for _, p := range []string{"/../admin", "/a/./b", "me", ""} {
		_, err := d.CheckRequest(ctx, map[string]string{"base_url": "https://api.example.com", "token": "t", "check_path": p})
		invalidField(t, err, "check_path")
	}
	_, err = embedded(t, "pipedrive").CheckRequest(ctx, map[string]string{"company_domain": "evil.com/x", "api_token": "t"})
	invalidField(t, err, "company_domain")
}

func TestCheckRequestAgainstServer(t *testing.T) {
	t.Parallel()
	srv, got := recorder(t)
	d := define(t, applyAll)
	values, err := d.Validate(map[string]any{"base_url": srv.URL, "user": "ada", "pass": "pw", "key": "k"})
	require.NoError(t, err)
	req, err := d.CheckRequest(context.Background(), values)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	r := <-got
	assert.Equal(t, "HEAD", r.method)
	assert.Equal(t, "/v2/me", r.path)
	assert.Equal(t, "api_token=k", r.rawQuery)
	assert.Equal(t, []string{"ada", "pw"}, []string{r.user, r.pass})
	assert.Equal(t, "k", r.header.Get("X-Api-Key"))
	assert.Equal(t, "application/json", r.header.Get("Accept"))
}
