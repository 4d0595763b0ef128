package node_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// handlerRuns is a WebhookHandler that counts its runs per webhook id.
type handlerRuns struct {
	mu   sync.Mutex
	runs map[string]int
}

func (h *handlerRuns) HandleWebhook(_ context.Context, ev *tenantry.WebhookEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs[ev.WebhookID]++
	return nil
}

func (h *handlerRuns) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs[id]
}

// hookedConnectors writes a connector whose webhooks are signed per
// Standard Webhooks with the connection's signing_secret.
func hookedConnectors(t *testing.T) string {
	t.Helper()
	provider := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(provider.Close)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hooked.yaml"), []byte(`id: hooked
name: Hooked
auth: {type: api_key}
form:
  - {name: api_key, label: API key, type: password, required: true}
  - {name: signing_secret, label: Webhook signing secret, type: password}
base_url: `+provider.URL+`
apply: {headers: {X-Api-Key: "{{api_key}}"}}
check: {path: /check}
webhooks: {scheme: standard_webhooks, secret: signing_secret}
`), 0o600))
	return dir
}

// sendSigned posts body to u signed with key and returns the status and
// Retry-After.
func sendSigned(client *http.Client, u string, key []byte, id string, body []byte) (int, string, error) {
	req, err := http.NewRequest("POST", u, strings.NewReader(string(body)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	webhook.SignHeaders(req.Header, [][]byte{key}, id, time.Now(), body)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// TestWebhookIngressNATSRestart sends signed webhooks from several
// producers while the nats-server is stopped and restarted. Every
// request answered 2xx must be processed exactly once; every other
// answer must be a 503 with Retry-After, after which the producer
// retries (as real producers do) until it is acknowledged.
func TestWebhookIngressNATSRestart(t *testing.T) {
	dir := t.TempDir()
	ns, err := events.StartServer(dir, -1)
	require.NoError(t, err)
	url, port := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	restarted := ns
	t.Cleanup(func() { restarted.Shutdown() })

	runs := &handlerRuns{runs: map[string]int{}}
	sys := tenantrytest.StartWithNATS(t, ns, func(c *node.Config) {
		c.ConnectorsDir = hookedConnectors(t)
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.PublishTimeout = 500 * time.Millisecond
		c.Webhooks.Handler = runs
		c.Webhooks.Worker.Consumer.AckWait = 2 * time.Second
	})
	_, partner := sys.Partner()
	account, token := sys.Account(partner, "load")
	secret := webhook.NewSecret()
	key, err := webhook.DecodeSecret(secret)
	require.NoError(t, err)
	r := sys.Do("POST", "/api/servers", token, map[string]any{"servertype_id": "hooked", "api_key": "k", "signing_secret": secret})
	require.Equal(t, 202, r.Status, string(r.Body))
	u := sys.Do("GET", "/api/webhooks", token, nil).JSON["servers"].([]any)[0].(map[string]any)["url"].(string)

	const producers, perProducer = 8, 120
	var acked, refused atomic.Int64
	var mu sync.Mutex
	var unexpected []string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				id := fmt.Sprintf("msg_%d_%d", p, i)
				body := []byte(fmt.Sprintf(`{"producer":%d,"n":%d}`, p, i))
				for {
					status, retryAfter, err := sendSigned(client, u, key, id, body)
					if err == nil && status == http.StatusAccepted {
						acked.Add(1)
						break
					}
					mu.Lock()
					if err != nil || status != http.StatusServiceUnavailable || retryAfter == "" {
						unexpected = append(unexpected, fmt.Sprintf("%s: %d %v (Retry-After %q)", id, status, err, retryAfter))
					}
					mu.Unlock()
					refused.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(15 * time.Millisecond)
			}
		}()
	}
	time.Sleep(600 * time.Millisecond)
	ns.Shutdown()
	ns.WaitForShutdown()
	time.Sleep(1500 * time.Millisecond)
	restarted, err = events.StartServer(dir, port)
	require.NoError(t, err)
	require.Equal(t, url, restarted.ClientURL())
	wg.Wait()

	require.Empty(t, unexpected, "every refusal is a 503 with Retry-After")
	require.EqualValues(t, producers*perProducer, acked.Load())
	require.Positive(t, refused.Load(), "some webhooks arrived while NATS was down")
	ctx := context.Background()
	require.Eventually(t, func() bool {
		var n int
		err := sys.Node.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM core.webhook_events
			WHERE account_id = $1 AND status = 'processed'`, account).Scan(&n)
		return err == nil && n == producers*perProducer
	}, 60*time.Second, 100*time.Millisecond, "every acknowledged webhook is processed")
	for p := range producers {
		for i := range perProducer {
			id := fmt.Sprintf("msg_%d_%d", p, i)
			require.Equal(t, 1, runs.count(id), "%s handled exactly once", id)
		}
	}
	var total int
	require.NoError(t, sys.Node.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM core.webhook_events WHERE account_id = $1`,
		account).Scan(&total))
	require.Equal(t, producers*perProducer, total, "nothing but what was sent")
	t.Logf("%d webhooks acknowledged across the restart after %d refusals (503), each processed once", acked.Load(), refused.Load())
}
