package fetch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/connectors/fetch"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// apiKeyConnector is a connector for the fake provider's REST API; %s is
// its apply block, %s its streams.
const apiKeyConnector = `id: fake
name: Fake
auth: {type: api_key}
form:
  - {name: base_url, label: Base URL, type: url, required: true}
  - {name: api_key, label: API key, type: password, required: true}
base_url: "{{base_url}}"
apply:
%s
streams:
  - name: records
%s
`

const keyHeader = `  headers: {X-Api-Key: "{{api_key}}"}`

// styles are the streams of the fake provider's four pagination shapes,
// three records a page.
var styles = map[string]string{
	"Cursor": `    path: /api/records/cursor
    records: /data
    primary_key: id
    pagination: {type: cursor, cursor_param: cursor, next_cursor: /next_cursor, limit_param: limit, page_size: 3}
    incremental: {cursor_field: updated_at, param: updated_since}`,
	"Link": `    path: /api/records/link
    records: /results
    primary_key: id
    pagination: {type: link, limit_param: limit, page_size: 3}
    incremental: {cursor_field: updated_at, param: updated_since}`,
	"Page": `    path: /api/records/page
    records: /items
    primary_key: id
    pagination: {type: page, page_param: page, total_pages: /total_pages, limit_param: limit, page_size: 3}`,
	"PageWithoutTotal": `    path: /api/records/page
    records: /items
    primary_key: id
    pagination: {type: page, page_param: page, limit_param: limit, page_size: 3}`,
	"Offset": `    path: /api/records/offset
    records: /records
    primary_key: id
    pagination: {type: offset, offset_param: offset, total: /total, limit_param: limit, page_size: 3}`,
	"OffsetWithoutTotal": `    path: /api/records/offset
    records: /records
    primary_key: id
    pagination: {type: offset, offset_param: offset, limit_param: limit, page_size: 3}`,
}

// load writes one connector file and loads it.
func load(t *testing.T, body string) *connectors.Definition {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fake.yaml"), []byte(body), 0o600))
	c, err := connectors.LoadCatalog(dir)
	require.NoError(t, err)
	d, ok := c.Get("fake")
	require.True(t, ok)
	return d
}

// client is an egress client that may reach the fake provider.
func client(maxRetries int) *egress.Client {
	return egress.New(egress.Config{
		Allow:       []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		BackoffBase: 10 * time.Millisecond, MaxRetries: maxRetries,
	})
}

// setup starts a fake provider holding n records and returns it with a
// Fetcher for the given stream body.
func setup(t *testing.T, stream string, n int) (*fakeprovider.Provider, *fetch.Fetcher) {
	t.Helper()
	p := fakeprovider.New(t, fakeprovider.Options{})
	p.SetRecords(records(n))
	d := load(t, fmt.Sprintf(apiKeyConnector, keyHeader, stream))
	return p, newFetcher(t, d, p.URL, nil)
}

func newFetcher(t *testing.T, d *connectors.Definition, baseURL string, values map[string]string) *fetch.Fetcher {
	t.Helper()
	v := map[string]string{"base_url": baseURL, "api_key": "key-123"}
	for k, x := range values {
		v[k] = x
	}
	f, err := fetch.New(fetch.Config{Definition: d, Stream: "records", Values: v, Doer: client(3)})
	require.NoError(t, err)
	return f
}

// records returns n records r00, r01, … updated a minute apart.
func records(n int) []map[string]any {
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{"id": fmt.Sprintf("r%02d", i), "updated_at": updatedAt(i), "n": i}
	}
	return recs
}

func updatedAt(i int) string {
	return time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC).Format(time.RFC3339)
}

func ids(n, from int) []string {
	var out []string
	for i := from; i < n; i++ {
		out = append(out, fmt.Sprintf("r%02d", i))
	}
	return out
}

// walk reads every page from checkpoint and returns the record ids, the
// pages, and the latest incremental cursor.
func walk(t *testing.T, f *fetch.Fetcher, checkpoint, since string) (got []string, pages []*fetch.Page, maxCursor string) {
	t.Helper()
	for i := 0; i < 50; i++ {
		p, err := f.Next(context.Background(), checkpoint, since)
		require.NoError(t, err)
		for _, r := range p.Records {
			got = append(got, r["id"].(string))
		}
		pages = append(pages, p)
		maxCursor = fetch.LaterCursor(maxCursor, p.MaxCursor)
		if p.Done {
			require.Empty(t, p.Checkpoint, "a last page has no checkpoint")
			return got, pages, maxCursor
		}
		require.NotEmpty(t, p.Checkpoint, "a page that is not the last has a checkpoint")
		checkpoint = p.Checkpoint
	}
	t.Fatal("no last page after 50 pages")
	return nil, nil, ""
}

// oauthConnector is the fake provider's API behind its OAuth2 flow.
const oauthConnector = `id: fake
name: Fake
auth:
  type: oauth2
  oauth2: {authorize_url: https://fake.example/authorize, token_url: https://fake.example/token}
form:
  - {name: base_url, label: Base URL, type: url, required: true}
base_url: "{{base_url}}"
apply:
  headers: {Authorization: "Bearer {{access_token}}"}
streams:
  - name: records
%s
`

const redirectURI = "http://app.example/oauth/callback"

// connect runs the fake provider's authorization code flow and returns
// the access and refresh tokens.
func connect(t *testing.T, p *fakeprovider.Provider) (access, refresh string) {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {"client-id"}, "redirect_uri": {redirectURI}, "state": {"s"}}
	cb, err := p.Approve(p.URL + "/oauth/authorize?" + q.Encode())
	require.NoError(t, err)
	u, err := url.Parse(cb)
	require.NoError(t, err)
	tok, err := token(p, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {redirectURI}})
	require.NoError(t, err)
	return tok["access_token"], tok["refresh_token"]
}

// token calls the fake provider's token endpoint.
func token(p *fakeprovider.Provider, form url.Values) (map[string]string, error) {
	req, err := http.NewRequest("POST", p.URL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("client-id", "client-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token endpoint: %d %v", resp.StatusCode, out)
	}
	s := map[string]string{}
	for k, v := range out {
		s[k] = fmt.Sprint(v)
	}
	return s, nil
}
