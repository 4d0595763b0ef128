package handlers_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
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
)

const adminToken = "admin-token-for-tests-0123456789abcdef"

// flakyHookHandler fails every webhook until fixed (permanently for
// webhook ids starting with "perm-"), then counts its successful runs.
type flakyHookHandler struct {
	fixed atomic.Bool
	mu    sync.Mutex
	ok    map[string]int
}

func (h *flakyHookHandler) HandleWebhook(_ context.Context, ev *tenantry.WebhookEvent) error {
	if !h.fixed.Load() {
		if strings.HasPrefix(ev.WebhookID, "perm-") {
			return events.Permanent(errors.New("bug: unknown event shape"))
		}
		return errors.New("bug: unknown event shape")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ok[ev.WebhookID]++
	return nil
}

func (h *flakyHookHandler) runs(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok[id]
}

// settled waits until stream's durable consumer has handled everything
// in the stream.
func consumerSettled(t *testing.T, sys *tenantrytest.System, stream, durable string) {
	t.Helper()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	require.Eventually(t, func() bool {
		s, err := js.Stream(t.Context(), stream)
		require.NoError(t, err)
		c, err := js.Consumer(t.Context(), stream, durable)
		require.NoError(t, err)
		info, err := c.Info(t.Context())
		require.NoError(t, err)
		return info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream == s.CachedInfo().State.LastSeq
	}, 15*time.Second, 20*time.Millisecond, "%s/%s never settled", stream, durable)
}

func waitHookStatus(t *testing.T, sys *tenantrytest.System, token, webhookID, status string) map[string]any {
	t.Helper()
	var ev map[string]any
	require.Eventually(t, func() bool {
		for _, it := range sys.Do("GET", "/api/webhooks/events", token, nil).JSON["items"].([]any) {
			if e := it.(map[string]any); e["webhook_id"] == webhookID {
				ev = e
				return e["status"] == status
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "%s never %s", webhookID, status)
	return ev
}

// TestAdminDLQAndReplay: webhooks whose handler fails reach the DLQ
// (after MaxDeliver, or at once when the failure is permanent) and are
// recorded failed; once the handler is fixed, a redrive and a replay each
// run them once, the replay publishing again only the webhook that had
// failed; replaying again (webhooks and commands) publishes nothing, as
// everything was applied.
func TestAdminDLQAndReplay(t *testing.T) {
	t.Parallel()
	h := &flakyHookHandler{ok: map[string]int{}}
	sys, partner := hookSetup(t, func(c *node.Config) {
		c.Webhooks.Handler = h
		c.Webhooks.AdminTokens = []string{adminToken}
		c.Webhooks.Worker.Consumer = events.ConsumerConfig{MaxDeliver: 2, BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	})
	start := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	accountID, token := sys.Account(partner, "dlq")
	u := sys.Do("GET", "/api/webhooks", token, nil).JSON["url"].(string)
	require.Equal(t, 202, postHook(t, sys, u, []byte(`{"n":1}`), "Idempotency-Key", "poison-1").Status)
	require.Equal(t, 202, postHook(t, sys, u, []byte(`{"n":2}`), "Idempotency-Key", "perm-2").Status)

	ev := waitHookStatus(t, sys, token, "poison-1", "failed")
	require.EqualValues(t, 2, ev["attempts"], "MaxDeliver runs")
	require.Equal(t, "internal error; see the worker log for webhook event "+ev["id"].(string), ev["error"])
	require.EqualValues(t, 1, waitHookStatus(t, sys, token, "perm-2", "failed")["attempts"], "a permanent failure is not retried")

	for name, tok := range map[string]string{"None": "", "Partner": partner, "Account": token, "Wrong": adminToken + "x"} {
		require.Equal(t, 401, sys.Do("GET", "/api/admin/dlq", tok, nil).Status, name)
	}
	var dead []any
	require.Eventually(t, func() bool {
		dead = sys.Do("GET", "/api/admin/dlq", adminToken, nil).JSON["items"].([]any)
		return len(dead) == 2
	}, 10*time.Second, 20*time.Millisecond)
	byReason := map[any]map[string]any{}
	for _, d := range dead {
		byReason[d.(map[string]any)["reason"]] = d.(map[string]any)
	}
	require.Contains(t, byReason, "terminated", "the permanent failure")
	first := byReason["max_deliver"]
	require.Equal(t, "hook."+accountID+".account", first["subject"])
	require.Equal(t, "WEBHOOKS", first["stream"])
	require.EqualValues(t, 2, first["deliveries"])
	require.Contains(t, first["error"], "bug: unknown event shape")
	seq := int(first["seq"].(float64))
	require.Equal(t, 404, sys.Do("GET", "/api/admin/dlq/0", adminToken, nil).Status, "no dead letter has sequence 0")
	require.Equal(t, 404, sys.Do("POST", "/api/admin/dlq/redrive", adminToken, `{"seqs":[0]}`).Status)
	shown := sys.Do("GET", "/api/admin/dlq/"+strconv.Itoa(seq), adminToken, nil)
	require.Equal(t, 200, shown.Status)
	data, err := base64.StdEncoding.DecodeString(shown.JSON["data"].(string))
	require.NoError(t, err)
	require.Equal(t, `{"n":1}`, string(data))
	require.Equal(t, 404, sys.Do("GET", "/api/admin/dlq/999999", adminToken, nil).Status)

	h.fixed.Store(true)
	r := sys.Do("POST", "/api/admin/dlq/redrive", adminToken, map[string]any{"seqs": []int{seq}})
	require.Equal(t, 200, r.Status, string(r.Body))
	require.EqualValues(t, 1, r.JSON["redriven"])
	waitHookStatus(t, sys, token, "poison-1", "processed")
	require.Equal(t, 1, h.runs("poison-1"))

	t.Run("ReplayReRunsWhatFailed", func(t *testing.T) {
		r := sys.Do("POST", "/api/admin/replay", adminToken, map[string]any{"stream": "WEBHOOKS", "subject": "hook.>", "since": start})
		require.Equal(t, 200, r.Status, string(r.Body))
		require.EqualValues(t, 1, r.JSON["published"], "the failed original")
		require.EqualValues(t, 1, r.JSON["applied"], "the processed original (redriven) is not published again")
		require.EqualValues(t, 1, r.JSON["skipped"], "the redriven copy")
		waitHookStatus(t, sys, token, "perm-2", "processed")
		consumerSettled(t, sys, "WEBHOOKS", "webhooks")
		require.Equal(t, 1, h.runs("perm-2"), "the failed webhook ran once more")
		require.Equal(t, 1, h.runs("poison-1"), "the processed one did not run again")
	})
	t.Run("ReplayTwiceAppliesOnce", func(t *testing.T) {
		r := sys.Do("POST", "/api/admin/replay", adminToken, map[string]any{"stream": "WEBHOOKS", "since": start})
		require.Equal(t, 200, r.Status, string(r.Body))
		require.Equal(t, []any{0.0, 2.0, 2.0}, []any{r.JSON["published"], r.JSON["applied"], r.JSON["skipped"]},
			"both processed now; the redrive's and the first replay's copies skipped")
		consumerSettled(t, sys, "WEBHOOKS", "webhooks")
		require.Equal(t, []int{1, 1}, []int{h.runs("poison-1"), h.runs("perm-2")})
		require.Len(t, sys.Do("GET", "/api/webhooks/events", token, nil).JSON["items"], 2)

		for range 2 {
			r := sys.Do("POST", "/api/admin/replay", adminToken, map[string]any{"stream": "COMMANDS", "subject": "cmd.subaccount.provision.>", "since": start})
			require.Equal(t, 200, r.Status, string(r.Body))
			require.Equal(t, []any{0.0, 1.0}, []any{r.JSON["published"], r.JSON["applied"]}, "its job succeeded: not published again")
			consumerSettled(t, sys, "COMMANDS", "worker")
		}
		var applied int
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM core.audit_log
			WHERE account_id = $1 AND action = 'subaccount.provisioned'`, accountID).Scan(&applied))
		require.Equal(t, 1, applied)
	})
	t.Run("Purge", func(t *testing.T) {
		bad := sys.Do("POST", "/api/admin/dlq/purge", adminToken, map[string]any{})
		require.Equal(t, 400, bad.Status)
		r := sys.Do("POST", "/api/admin/dlq/purge", adminToken, map[string]any{"subject": "hook.>"})
		require.Equal(t, 200, r.Status, string(r.Body))
		require.EqualValues(t, 1, r.JSON["purged"], "the permanent failure's copy")
		require.Empty(t, sys.Do("GET", "/api/admin/dlq", adminToken, nil).JSON["items"])
	})
	t.Run("ErrReplayInvalid", func(t *testing.T) {
		r := sys.Do("POST", "/api/admin/replay", adminToken, map[string]any{"stream": "DLQ"})
		require.Equal(t, 400, r.Status)
		require.Contains(t, string(r.Body), `"field":"stream"`)
		require.Contains(t, string(r.Body), `"field":"since"`)
	})
}

func TestAdminOffWithoutToken(t *testing.T) {
	t.Parallel()
	sys, partner := hookSetup(t, nil)
	require.Equal(t, 401, sys.Do("GET", "/api/admin/dlq", adminToken, nil).Status, "without TENANTRY_ADMIN_TOKEN no token opens it")
	require.Equal(t, 404, sys.Do("GET", "/api/admin/dlq", partner, nil).Status, "an /api path without a route")
}
