package handlers_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// hookSetup runs a system whose catalog has "hooked", a connector whose
// webhooks are signed per Standard Webhooks with the connection's
// signing_secret, and returns it with a partner token.
func hookSetup(t testing.TB, edit func(*node.Config)) (*tenantrytest.System, string) {
	t.Helper()
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(provider.Close)
	dir := t.TempDir()
	def := `id: hooked
name: Hooked
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
  - {name: signing_secret, label: Webhook signing secret, type: password}
base_url: ` + provider.URL + `
apply: {headers: {X-Api-Key: "{{api_key}}"}}
check: {path: /check}
webhooks: {scheme: standard_webhooks, secret: signing_secret}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hooked.yaml"), []byte(def), 0o600))
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.ConnectorsDir = dir
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Webhooks.Receiver.MaxBodyBytes = 64 << 10
		if edit != nil {
			edit(c)
		}
	})
	_, partner := sys.Partner()
	return sys, partner
}

// post sends body to the absolute webhook URL u.
func postHook(t *testing.T, sys *tenantrytest.System, u string, body []byte, headers ...string) tenantrytest.Response {
	t.Helper()
	require.True(t, strings.HasPrefix(u, sys.URL), "webhook URLs are on the API's public URL: %s", u)
	return sys.Do("POST", strings.TrimPrefix(u, sys.URL), "", body, headers...)
}

// signed posts body signed per Standard Webhooks with secret.
func signedHook(t *testing.T, sys *tenantrytest.System, u, secret, id string, at time.Time, body []byte) tenantrytest.Response {
	t.Helper()
	key, err := webhook.DecodeSecret(secret)
	require.NoError(t, err)
	h := http.Header{}
	webhook.SignHeaders(h, [][]byte{key}, id, at, body)
	return postHook(t, sys, u, body, "Content-Type", "application/json", webhook.HeaderID, h.Get(webhook.HeaderID),
		webhook.HeaderTimestamp, h.Get(webhook.HeaderTimestamp), webhook.HeaderSignature, h.Get(webhook.HeaderSignature))
}

// waitHookEvents polls the webhook event list (query, with token) until it
// has n items, all processed, and returns them.
func waitHookEvents(t *testing.T, sys *tenantrytest.System, token, query string, n int) []any {
	t.Helper()
	var items []any
	require.Eventually(t, func() bool {
		r := sys.Do("GET", "/api/webhooks/events"+query, token, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		items = r.JSON["items"].([]any)
		for _, it := range items {
			if it.(map[string]any)["status"] != "processed" {
				return false
			}
		}
		return len(items) == n
	}, 15*time.Second, 20*time.Millisecond, "want %d processed events for %q", n, query)
	return items
}

func TestWebhookAccountURL(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	id, token := sys.Account(partner, "hooks")
	_, other := sys.Account(partner, "other")

	r := sys.Do("GET", "/api/webhooks", token, nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	u := r.JSON["url"].(string)
	require.Contains(t, u, webhook.AccountPath)
	require.Equal(t, u, sys.Do("GET", "/api/webhooks", token, nil).JSON["url"], "the URL is stable")
	require.Equal(t, u, sys.Do("GET", "/api/webhooks?subaccount_id="+id, partner, nil).JSON["url"], "the partner sees the same URL")
	require.NotEqual(t, u, sys.Do("GET", "/api/webhooks", other, nil).JSON["url"], "each account has its own")
	noAccount := sys.Do("GET", "/api/webhooks", partner, nil)
	require.Equal(t, 400, noAccount.Status)
	require.Contains(t, string(noAccount.Body), `"field":"subaccount_id"`)
	require.Equal(t, 404, sys.Do("GET", "/api/webhooks?subaccount_id=sub_nope", partner, nil).Status)

	body := []byte("a=1&b=\x00\xff raw bytes")
	got := postHook(t, sys, u+"?source=crm", body, "Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "delivery-1",
		"Authorization", "Bearer not-kept")
	require.Equal(t, http.StatusAccepted, got.Status, string(got.Body))
	require.Equal(t, "delivery-1", got.JSON["webhook_id"])
	again := postHook(t, sys, u, body, "Content-Type", "application/x-www-form-urlencoded", "Idempotency-Key", "delivery-1")
	require.Equal(t, http.StatusAccepted, again.Status, "a duplicate is acknowledged")

	items := waitHookEvents(t, sys, token, "", 1)
	ev := items[0].(map[string]any)
	require.Equal(t, "delivery-1", ev["webhook_id"])
	require.Equal(t, "application/x-www-form-urlencoded", ev["content_type"])
	require.EqualValues(t, len(body), ev["size"])
	require.Equal(t, "source=crm", ev["query"])
	require.Equal(t, "", ev["server_id"])
	require.NotContains(t, ev["headers"], "Authorization", "credentials are not kept")
	one := sys.Do("GET", "/api/webhooks/events/"+ev["id"].(string), token, nil)
	require.Equal(t, 200, one.Status)
	require.Nil(t, one.JSON["body"], "not UTF-8: given as base64")
	require.NotEmpty(t, one.JSON["body_base64"])
	require.Equal(t, 404, sys.Do("GET", "/api/webhooks/events/"+ev["id"].(string), other, nil).Status, "another account cannot see it")
	require.Empty(t, sys.Do("GET", "/api/webhooks/events", other, nil).JSON["items"])
	require.Len(t, sys.Do("GET", "/api/webhooks/events?subaccount_id="+id, partner, nil).JSON["items"], 1)

	t.Run("Rotate", func(t *testing.T) {
		r := sys.Do("POST", "/api/webhooks/rotate", token, nil)
		require.Equal(t, 200, r.Status, string(r.Body))
		rotated := r.JSON["url"].(string)
		require.NotEqual(t, u, rotated)
		require.Nil(t, r.JSON["previous_valid_until"])
		require.Equal(t, 404, postHook(t, sys, u, []byte("x")).Status, "the old URL stops at once")
		require.Equal(t, 202, postHook(t, sys, rotated, []byte("x")).Status)

		r = sys.Do("POST", "/api/webhooks/rotate", partner, map[string]any{"subaccount_id": id, "grace_seconds": 60})
		require.Equal(t, 200, r.Status, string(r.Body))
		require.NotNil(t, r.JSON["previous_valid_until"])
		require.Equal(t, 202, postHook(t, sys, rotated, []byte("y")).Status, "within its grace period the old URL works")
		require.Equal(t, 202, postHook(t, sys, r.JSON["url"].(string), []byte("z")).Status)
		bad := sys.Do("POST", "/api/webhooks/rotate", token, map[string]any{"grace_seconds": -1})
		require.Equal(t, 400, bad.Status)
		require.Contains(t, string(bad.Body), `"field":"grace_seconds"`)
	})
}

func TestWebhookConnectionSignatures(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	_, token := sys.Account(partner, "signed")
	secret := webhook.NewSecret()
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": secret})
	require.Equal(t, 202, r.Status, string(r.Body))
	conn := r.JSON["id"].(string)
	unsigned := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k"})
	require.Equal(t, 202, unsigned.Status)

	list := sys.Do("GET", "/api/webhooks", token, nil)
	require.Equal(t, 200, list.Status)
	servers := list.JSON["servers"].([]any)
	require.Len(t, servers, 2)
	first := servers[0].(map[string]any)
	require.Equal(t, conn, first["server_id"])
	require.Equal(t, "standard_webhooks", first["scheme"])
	require.Equal(t, "signing_secret", first["secret_field"])
	u := first["url"].(string)

	now := time.Now()
	body := []byte(`{"type":"invoice.paid","amount":42}`)
	ok := signedHook(t, sys, u, secret, "msg_1", now, body)
	require.Equal(t, 202, ok.Status, string(ok.Body))
	require.Equal(t, "msg_1", ok.JSON["webhook_id"])
	require.Equal(t, 202, signedHook(t, sys, u, secret, "msg_1", now, body).Status, "the producer's retry is acknowledged")
	require.Equal(t, 202, signedHook(t, sys, u, secret, "msg_2", now, []byte(`{}`)).Status)

	for _, tc := range []struct {
		name   string
		resp   tenantrytest.Response
		status int
	}{
		{"ErrWrongSecret", signedHook(t, sys, u, webhook.NewSecret(), "msg_3", now, body), 401},
		{"ErrStale", signedHook(t, sys, u, secret, "msg_3", now.Add(-6*time.Minute), body), 401},
		{"ErrUnsigned", postHook(t, sys, u, body, "Content-Type", "application/json", webhook.HeaderID, "msg_3",
			webhook.HeaderTimestamp, "1700000000"), 401},
		{"ErrBadTimestamp", postHook(t, sys, u, body, webhook.HeaderID, "msg_3", webhook.HeaderTimestamp, "yesterday"), 400},
		{"ErrTooLarge", signedHook(t, sys, u, secret, "msg_3", now, bytes.Repeat([]byte("x"), 65<<10)), 413},
		{"ErrNoSecretYet", signedHook(t, sys, servers[1].(map[string]any)["url"].(string), secret, "msg_3", now, body), 401},
		{"ErrUnknownConnection", signedHook(t, sys, sys.URL+webhook.ConnectionPath+"srv_nope", secret, "msg_3", now, body), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.status, tc.resp.Status, string(tc.resp.Body))
			require.Equal(t, "application/problem+json", tc.resp.Header.Get("Content-Type"))
		})
	}
	require.Contains(t, sys.Logs(), "webhook rejected", "refusals are logged")
	require.Contains(t, sys.Logs(), "no webhook signature matches")
	require.Contains(t, sys.Logs(), "the request body exceeds 65536 bytes")
	require.Contains(t, sys.Logs(), "the connection has no webhook signing secret")

	items := waitHookEvents(t, sys, token, "?server_id="+conn, 2)
	require.Equal(t, "msg_1", items[0].(map[string]any)["webhook_id"], "oldest first")
	one := sys.Do("GET", "/api/webhooks/events/"+items[0].(map[string]any)["id"].(string), token, nil)
	require.Equal(t, string(body), one.JSON["body"], "the raw body, as received")

	logs := sys.Do("GET", "/api/server/"+conn+"/logs", token, nil)
	require.Contains(t, string(logs.Body), "webhook msg_1 received (application/json, 35 bytes)")
	require.Equal(t, 1, strings.Count(string(logs.Body), "webhook msg_1 received"), "a duplicate is logged once")

	t.Run("Filters", func(t *testing.T) {
		page := sys.Do("GET", "/api/webhooks/events?limit=1&server_id="+conn, token, nil)
		require.Len(t, page.JSON["items"], 1)
		next := page.JSON["next_cursor"].(string)
		rest := sys.Do("GET", "/api/webhooks/events?limit=1&server_id="+conn+"&cursor="+next, token, nil)
		require.Equal(t, "msg_2", rest.JSON["items"].([]any)[0].(map[string]any)["webhook_id"])
		require.Nil(t, rest.JSON["next_cursor"])
		require.Empty(t, sys.Do("GET", "/api/webhooks/events?status=failed", token, nil).JSON["items"])
		require.Len(t, sys.Do("GET", "/api/webhooks/events?status=processed", token, nil).JSON["items"], 2)
		future := now.Add(time.Hour).UTC().Format(time.RFC3339)
		require.Empty(t, sys.Do("GET", "/api/webhooks/events?since="+future, token, nil).JSON["items"])
		require.Len(t, sys.Do("GET", "/api/webhooks/events?until="+future, token, nil).JSON["items"], 2)
		bad := sys.Do("GET", "/api/webhooks/events?status=done&since=today", token, nil)
		require.Equal(t, 400, bad.Status)
		require.Contains(t, string(bad.Body), `"field":"status"`)
		require.Contains(t, string(bad.Body), `"field":"since"`)
	})
}
