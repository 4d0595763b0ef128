package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// eventCount counts the EVENTS stream's messages matching subject.
func eventCount(t *testing.T, sys *tenantrytest.System, subject string) uint64 {
	t.Helper()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	s, err := js.Stream(context.Background(), events.StreamEvents)
	require.NoError(t, err)
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// TestHealthStateMachine: a working connection whose provider starts
// failing becomes degraded (after its check's retries), then active again
// when a periodic check passes; each transition is an event.
func TestHealthStateMachine(t *testing.T) {
	t.Parallel()
	sys, p, _, token := connSetup(t, fakeprovider.Options{}, func(c *node.Config) {
		c.DatabaseURL = tenantrytest.Database(t) // a scheduler acts on its whole database
		c.Scheduler = true
		c.Schedule.Interval, c.Schedule.CheckEvery = 50*time.Millisecond, 300*time.Millisecond
		c.Jobs.Consumer.MaxDeliver, c.Jobs.Consumer.BackoffBase = 2, 20*time.Millisecond
	})
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "key-123"})
	id := r.JSON["id"].(string)
	require.Equal(t, "active", waitServer(t, sys, token, id)["status"])
	require.Eventually(t, func() bool { return eventCount(t, sys, "evt.*.server.connected") == 1 }, 5*time.Second, 20*time.Millisecond)

	p.FailNext(2, http.StatusInternalServerError, "")
	require.Eventually(t, func() bool { return eventCount(t, sys, "evt.*.server.degraded") == 1 }, 10*time.Second, 20*time.Millisecond,
		"a provider failing every retry of a check degrades the connection")
	logs := string(sys.Do("GET", "/api/server/"+id+"/logs?level=error", token, nil).Body)
	require.Contains(t, logs, "the provider answered HTTP 500 to the credential check", "with the reason")
	require.Eventually(t, func() bool {
		return eventCount(t, sys, "evt.*.server.connected") == 2 && sys.Do("GET", "/api/server/"+id, token, nil).JSON["status"] == "active"
	}, 10*time.Second, 20*time.Millisecond, "the next periodic check restores it")
}

func TestSecretStore(t *testing.T) {
	t.Parallel()
	sys, _, _, token := connSetup(t, fakeprovider.Options{}, nil)
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "secret_store", "name": "webhook key", "secret": "s3cr3t-value"})
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	got := waitServer(t, sys, token, r.JSON["id"].(string))
	require.Equal(t, "active", got["status"])
	require.NotContains(t, string(sys.Do("GET", "/api/servers", token, nil).Body), "s3cr3t-value")
	require.NotContains(t, sys.Logs(), "s3cr3t-value")
}

// TestPartnerOAuthApp: a partner's own OAuth client replaces the
// operator's for its end-customers (here the operator's is wrong, so only
// the partner's works).
func TestPartnerOAuthApp(t *testing.T) {
	t.Parallel()
	sys, p, partner, token := connSetup(t, fakeprovider.Options{}, func(c *node.Config) {
		c.Connections.OAuthClients = map[string]connections.Client{"fake_oauth": {ID: "operator-client", Secret: "nope"}}
	})
	put := sys.Do("PUT", "/api/oauth-apps/fake_oauth", partner, map[string]any{"client_id": "client-id", "client_secret": "client-secret"})
	require.Equal(t, 200, put.Status, string(put.Body))
	require.NotContains(t, string(put.Body), "client-secret")
	apps := sys.Do("GET", "/api/oauth-apps", partner, nil)
	require.Len(t, apps.JSON["items"], 1)
	require.NotContains(t, string(apps.Body), "client-secret")

	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	u, err := url.Parse(r.JSON["oauth_url"].(string))
	require.NoError(t, err)
	require.Equal(t, "client-id", u.Query().Get("client_id"), "the partner's app is used")
	oauthConnect(t, sys, p, r.JSON["oauth_url"].(string))
	require.Equal(t, "active", waitServer(t, sys, token, r.JSON["id"].(string))["status"])

	require.Equal(t, 403, sys.Do("PUT", "/api/oauth-apps/fake_oauth", token, map[string]any{"client_id": "x", "client_secret": "y"}).Status)
	require.Equal(t, 404, sys.Do("PUT", "/api/oauth-apps/fake_key", partner, map[string]any{"client_id": "x", "client_secret": "y"}).Status)
	require.Equal(t, 400, sys.Do("PUT", "/api/oauth-apps/fake_oauth", partner, map[string]any{"client_id": "x"}).Status)
	require.Equal(t, 204, sys.Do("DELETE", "/api/oauth-apps/fake_oauth", partner, nil).Status)
	r = sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_oauth"})
	require.Contains(t, r.JSON["oauth_url"], "client_id=operator-client", "back to the operator's")
}

func TestConnectionLogs(t *testing.T) {
	t.Parallel()
	sys, _, _, token := connSetup(t, fakeprovider.Options{}, nil)
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "fake_key", "api_key": "wrong"})
	id := r.JSON["id"].(string)
	waitServer(t, sys, token, id)
	up := sys.Do("PUT", "/api/server/"+id, token, map[string]any{"api_key": "key-123"})
	require.Equal(t, 202, up.Status)
	waitServer(t, sys, token, id)

	all := sys.Do("GET", "/api/server/"+id+"/logs", token, nil).JSON["items"].([]any)
	require.GreaterOrEqual(t, len(all), 4)
	var seen []string
	cursor := ""
	for range len(all) {
		page := sys.Do("GET", "/api/server/"+id+"/logs?limit=1&cursor="+cursor, token, nil)
		require.Equal(t, 200, page.Status)
		items := page.JSON["items"].([]any)
		require.Len(t, items, 1)
		seen = append(seen, items[0].(map[string]any)["id"].(string))
		next, _ := page.JSON["next_cursor"].(string)
		cursor = next
	}
	require.Empty(t, cursor, "the last page has no next cursor")
	for i, it := range all {
		require.Equal(t, it.(map[string]any)["id"], seen[i], "pages walk the log in order")
	}
	errs := sys.Do("GET", "/api/server/"+id+"/logs?level=error", token, nil).JSON["items"].([]any)
	require.Len(t, errs, 1)
	require.True(t, strings.Contains(errs[0].(map[string]any)["message"].(string), "rejected"))
	future := sys.Do("GET", "/api/server/"+id+"/logs?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), token, nil)
	require.Empty(t, future.JSON["items"])
	require.Equal(t, 400, sys.Do("GET", "/api/server/"+id+"/logs?level=verbose", token, nil).Status)
	require.Equal(t, 400, sys.Do("GET", "/api/server/"+id+"/logs?since=yesterday", token, nil).Status)
	require.Equal(t, 400, sys.Do("GET", "/api/server/"+id+"/logs?cursor=bogus", token, nil).Status)
}
