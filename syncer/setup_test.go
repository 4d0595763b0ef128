package syncer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// streams are the fake provider's four pagination styles, three records
// a page; broken points at records that are not there.
const streams = `
streams:
  - name: by_cursor
    path: /api/records/cursor
    records: /data
    primary_key: id
    pagination: {type: cursor, cursor_param: cursor, next_cursor: /next_cursor, limit_param: limit, page_size: 3}
    incremental: {cursor_field: updated_at, param: updated_since}
  - name: by_link
    path: /api/records/link
    records: /results
    primary_key: id
    pagination: {type: link, limit_param: limit, page_size: 3}
    incremental: {cursor_field: updated_at, param: updated_since}
  - name: by_page
    path: /api/records/page
    records: /items
    primary_key: id
    pagination: {type: page, page_param: page, total_pages: /total_pages, limit_param: limit, page_size: 3}
    schedule: 86400
  - name: by_offset
    path: /api/records/offset
    records: /records
    primary_key: id
    pagination: {type: offset, offset_param: offset, total: /total, limit_param: limit, page_size: 3}
  - name: broken
    path: /api/records/cursor
    records: /not_there
    primary_key: id
    pagination: {type: cursor, cursor_param: cursor, next_cursor: /next_cursor}
`

// connectorsFor writes two connectors for p with the streams above: an
// API-key one (fake_key) and an OAuth2 one (fake_oauth).
func connectorsFor(t testing.TB, p *fakeprovider.Provider) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(body+streams, "PROVIDER", p.URL)), 0o600))
	}
	write("fake_key.yaml", `
id: fake_key
name: Fake (API key)
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
base_url: PROVIDER
apply: {headers: {X-Api-Key: "{{api_key}}"}}
check: {path: /api/key-check}
`)
	write("fake_oauth.yaml", `
id: fake_oauth
name: Fake (OAuth)
auth:
  type: oauth2
  oauth2: {authorize_url: PROVIDER/oauth/authorize, token_url: PROVIDER/oauth/token, scopes: [read]}
base_url: PROVIDER
apply: {headers: {Authorization: "Bearer {{access_token}}"}}
check: {path: /api/me}
`)
	return dir
}

// fixture is a running system with a fake provider and an end-customer.
type fixture struct {
	t       testing.TB
	sys     *tenantrytest.System
	p       *fakeprovider.Provider
	token   string // the end-customer's
	partner string // its partner's
	account string
}

// setup runs a system whose catalog has the fake connectors, with the
// egress guard letting loopback through, and provisions an end-customer.
func setup(t testing.TB, edit func(*node.Config)) *fixture {
	t.Helper()
	p := fakeprovider.New(t, fakeprovider.Options{})
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.ConnectorsDir = connectorsFor(t, p)
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Connections.OAuthClients = map[string]connections.Client{"fake_oauth": {ID: "client-id", Secret: "client-secret"}}
		if edit != nil {
			edit(c)
		}
	})
	return newFixture(t, sys, p)
}

// newFixture provisions an end-customer on a running system.
func newFixture(t testing.TB, sys *tenantrytest.System, p *fakeprovider.Provider) *fixture {
	t.Helper()
	_, partner := sys.Partner()
	account, token := sys.Account(partner, "customer")
	return &fixture{t: t, sys: sys, p: p, token: token, partner: partner, account: account}
}

// connect makes an active API-key connection and returns its id.
func (f *fixture) connect() string {
	f.t.Helper()
	r := f.sys.Do("POST", "/api/servers", f.token, map[string]any{"servertype_id": "fake_key", "api_key": "key-123"})
	require.Equal(f.t, http.StatusAccepted, r.Status, string(r.Body))
	require.Equal(f.t, "succeeded", f.sys.WaitJob(f.token, r.JSON["job_id"].(string))["status"])
	return r.JSON["id"].(string)
}

// connectOAuth makes an active OAuth2 connection and returns its id.
func (f *fixture) connectOAuth() string {
	f.t.Helper()
	r := f.sys.Do("POST", "/api/servers", f.token, map[string]any{"servertype_id": "fake_oauth"})
	require.Equal(f.t, http.StatusAccepted, r.Status, string(r.Body))
	callback, err := f.p.Approve(r.JSON["oauth_url"].(string))
	require.NoError(f.t, err)
	resp, err := http.Get(callback)
	require.NoError(f.t, err)
	resp.Body.Close()
	id := r.JSON["id"].(string)
	require.Eventually(f.t, func() bool {
		return f.sys.Do("GET", "/api/server/"+id, f.token, nil).JSON["status"] == "active"
	}, 15*time.Second, 20*time.Millisecond)
	return id
}

// sync requests a sync and waits for its job; it returns the run as
// the ledger lists it.
func (f *fixture) sync(conn string, body any) map[string]any {
	f.t.Helper()
	id := f.requestSync(conn, body)
	f.sys.WaitJob(f.token, id)
	return f.run(conn, id)
}

// requestSync requests a sync and returns its run's (and job's) id.
func (f *fixture) requestSync(conn string, body any) string {
	f.t.Helper()
	r := f.sys.Do("POST", "/api/server/"+conn+"/sync", f.token, body)
	require.Equal(f.t, http.StatusAccepted, r.Status, string(r.Body))
	return r.JSON["job_id"].(string)
}

// run returns run id of connection conn from the ledger.
func (f *fixture) run(conn, id string) map[string]any {
	f.t.Helper()
	r := f.sys.Do("GET", "/api/server/"+conn+"/syncs?limit=100", f.token, nil)
	require.Equal(f.t, http.StatusOK, r.Status, string(r.Body))
	for _, item := range r.JSON["items"].([]any) {
		if run := item.(map[string]any); run["id"] == id {
			return run
		}
	}
	f.t.Fatalf("run %s is not in the ledger: %s", id, r.Body)
	return nil
}

// stream returns stream name of a run.
func stream(t *testing.T, run map[string]any, name string) map[string]any {
	t.Helper()
	for _, s := range run["streams"].([]any) {
		if s := s.(map[string]any); s["stream"] == name {
			return s
		}
	}
	t.Fatalf("run has no stream %s: %v", name, run)
	return nil
}

// row is a warehouse row: the record's name, and its soft-delete mark.
type row struct {
	name    string
	deleted bool
}

// rows returns the warehouse rows of a connection's stream by key.
func (f *fixture) rows(conn, streamName string) map[string]row {
	f.t.Helper()
	ctx := context.Background()
	var schema string
	pool := f.sys.Node.Store.Pool()
	require.NoError(f.t, pool.QueryRow(ctx, `SELECT schema_name FROM core.accounts WHERE id = $1`, f.account).Scan(&schema))
	table, err := store.StreamTable(conn, streamName)
	require.NoError(f.t, err)
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT key, data->>'name', deleted_at IS NOT NULL FROM %q.%q`, schema, table))
	require.NoError(f.t, err)
	defer rows.Close()
	out := map[string]row{}
	for rows.Next() {
		var key string
		var r row
		require.NoError(f.t, rows.Scan(&key, &r.name, &r.deleted))
		out[key] = r
	}
	require.NoError(f.t, rows.Err())
	return out
}

// records returns n provider records r1…rn, updated a minute apart.
func records(n int) []map[string]any {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("r%d", i+1), "name": fmt.Sprintf("record %d", i+1),
			"updated_at": base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)}
	}
	return out
}

func num(v any) int64 { return int64(v.(float64)) }

// fuzzFixture is a connection to fuzz the sync request of.
type fuzzFixture struct {
	*fixture
	conn string
}

func setupFuzz(f *testing.F) fuzzFixture {
	fx := setup(f, func(c *node.Config) { c.HTTP.RateLimits.Off = true })
	fx.p.SetRecords(records(3))
	return fuzzFixture{fixture: fx, conn: fx.connect()}
}
