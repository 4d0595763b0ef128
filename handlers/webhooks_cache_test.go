package handlers_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/webhook"
)

// TestWebhookTargetCache: a connection's URL is resolved once for a
// burst, and a change made on this replica — a new signing secret, the
// connection deleted — applies at once, not after the cache's TTL.
func TestWebhookTargetCache(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	_, token := sys.Account(partner, "cached")
	old := webhook.NewSecret()
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": old})
	require.Equal(t, 202, r.Status, string(r.Body))
	conn := r.JSON["id"].(string)
	u := sys.URL + webhook.ConnectionPath + conn
	body := []byte(`{"n":1}`)
	require.Equal(t, 202, signedHook(t, sys, u, old, "msg_a", time.Now(), body).Status)

	rotated := webhook.NewSecret()
	up := sys.Do("PUT", "/api/server/"+conn, token, map[string]any{"api_key": "k", "signing_secret": rotated})
	require.Less(t, up.Status, 300, string(up.Body))
	require.Equal(t, 202, signedHook(t, sys, u, rotated, "msg_b", time.Now(), body).Status, "the new secret works at once")
	require.Equal(t, 401, signedHook(t, sys, u, old, "msg_c", time.Now(), body).Status, "the old one stops at once")

	require.Equal(t, 204, sys.Do("DELETE", "/api/server/"+conn, token, nil).Status)
	require.Equal(t, 404, signedHook(t, sys, u, rotated, "msg_d", time.Now(), body).Status, "a deleted connection's URL stops at once")
}
