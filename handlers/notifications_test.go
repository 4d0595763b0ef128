package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// notifyReceiver is a partner's notification endpoint: it answers with
// answer(n) for its n-th request (from 1) and keeps what it got.
type notifyReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
	at     []time.Time
}

func newNotifyReceiver(t *testing.T, answer func(w http.ResponseWriter, n int)) *notifyReceiver {
	t.Helper()
	rc := &notifyReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got, rc.bodies, rc.at = append(rc.got, r), append(rc.bodies, body), append(rc.at, time.Now())
		n := len(rc.got)
		rc.mu.Unlock()
		answer(w, n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *notifyReceiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// request returns the i-th request and its body.
func (rc *notifyReceiver) request(i int) (*http.Request, []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[i], rc.bodies[i]
}

func answerStatus(code int) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) { w.WriteHeader(code) }
}

// endpoint registers u for subaccount.provisioned and returns its id and
// secret.
func notifyEndpoint(t *testing.T, sys *tenantrytest.System, partner, u string) (id, secret string) {
	t.Helper()
	r := sys.Do("POST", "/api/notifications/endpoints", partner, map[string]any{"url": u, "events": []string{"subaccount.provisioned"}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return r.JSON["id"].(string), r.JSON["secret"].(string)
}

// delivery waits until endpoint id's only delivery has status want and
// returns it with its attempts.
func waitDelivery(t *testing.T, sys *tenantrytest.System, partner, id, want string) map[string]any {
	t.Helper()
	var d map[string]any
	require.Eventually(t, func() bool {
		items := sys.Do("GET", "/api/notifications/deliveries?endpoint_id="+id, partner, nil).JSON["items"].([]any)
		if len(items) != 1 {
			return false
		}
		d = sys.Do("GET", "/api/notifications/deliveries/"+items[0].(map[string]any)["id"].(string), partner, nil).JSON
		return d["status"] == want
	}, 15*time.Second, 20*time.Millisecond, "delivery to %s never %s (last %v)", id, want, d)
	return d
}

func notifyAttemptTimes(t *testing.T, d map[string]any) []time.Time {
	t.Helper()
	var out []time.Time
	for _, a := range d["attempt_log"].([]any) {
		at, err := time.Parse(time.RFC3339Nano, a.(map[string]any)["at"].(string))
		require.NoError(t, err)
		out = append(out, at)
	}
	return out
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.EgressAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		n := &c.Webhooks.Notifier
		n.Interval, n.BackoffBase, n.BackoffMax, n.MaxAttempts, n.Timeout = 50*time.Millisecond, 100*time.Millisecond, 400*time.Millisecond, 4, 2*time.Second
	})
	_, partner := sys.Partner()

	var healthy atomic.Bool
	ok := newNotifyReceiver(t, answerStatus(http.StatusNoContent))
	failing := newNotifyReceiver(t, func(w http.ResponseWriter, _ int) {
		if !healthy.Load() {
			http.Error(w, "database is down", http.StatusInternalServerError)
		}
	})
	limited := newNotifyReceiver(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	gone := newNotifyReceiver(t, answerStatus(http.StatusGone))
	redirecting := newNotifyReceiver(t, func(w http.ResponseWriter, _ int) {
		http.Redirect(w, &http.Request{Method: "POST"}, ok.URL+"/moved", http.StatusFound)
	})
	okID, okSecret := notifyEndpoint(t, sys, partner, ok.URL+"/hooks")
	failingID, _ := notifyEndpoint(t, sys, partner, failing.URL)
	limitedID, _ := notifyEndpoint(t, sys, partner, limited.URL)
	goneID, _ := notifyEndpoint(t, sys, partner, gone.URL)
	redirectID, _ := notifyEndpoint(t, sys, partner, redirecting.URL)
	accountID, _ := sys.Account(partner, "notified")

	t.Run("Delivered", func(t *testing.T) {
		d := waitDelivery(t, sys, partner, okID, "succeeded")
		require.EqualValues(t, 1, d["attempts"])
		require.EqualValues(t, 204, d["last_status"])
		require.Equal(t, 1, ok.requests())
		req, body := ok.request(0)
		require.Equal(t, "/hooks", req.URL.Path)
		require.Equal(t, "application/json", req.Header.Get("Content-Type"))
		key, err := webhook.DecodeSecret(okSecret)
		require.NoError(t, err)
		id, err := webhook.VerifyStandard([][]byte{key}, req.Header, body, time.Now(), webhook.DefaultTolerance)
		require.NoError(t, err, "signed per Standard Webhooks with the endpoint's secret")
		require.Equal(t, d["event_id"], id, "webhook-id is the event id")
		require.Contains(t, string(body), `"type":"subaccount.provisioned"`)
		require.Contains(t, string(body), accountID)
	})
	t.Run("ServerErrorRetriedThenFailed", func(t *testing.T) {
		d := waitDelivery(t, sys, partner, failingID, "failed")
		require.EqualValues(t, 4, d["attempts"], "MaxAttempts")
		require.Contains(t, d["last_error"], "HTTP 500: database is down")
		at := notifyAttemptTimes(t, d)
		require.Len(t, at, 4)
		require.Greater(t, at[2].Sub(at[1]), at[1].Sub(at[0])*3/2, "the waits grow")

		healthy.Store(true)
		r := sys.Do("POST", "/api/notifications/deliveries/"+d["id"].(string)+"/retry", partner, nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		d = waitDelivery(t, sys, partner, failingID, "succeeded")
		require.EqualValues(t, 5, d["attempts"], "a manual retry is one more attempt")
		again := sys.Do("POST", "/api/notifications/deliveries/"+d["id"].(string)+"/retry", partner, nil)
		require.Equal(t, http.StatusConflict, again.Status, "a succeeded delivery is not sent again")
	})
	t.Run("RetryAfterHonoured", func(t *testing.T) {
		d := waitDelivery(t, sys, partner, limitedID, "succeeded")
		at := notifyAttemptTimes(t, d)
		require.Len(t, at, 2)
		require.GreaterOrEqual(t, at[1].Sub(at[0]), 1900*time.Millisecond, "Retry-After: 2 beats a 100ms backoff")
		require.EqualValues(t, 429, d["attempt_log"].([]any)[0].(map[string]any)["status_code"])
	})
	t.Run("GoneDisables", func(t *testing.T) {
		d := waitDelivery(t, sys, partner, goneID, "failed")
		require.EqualValues(t, 1, d["attempts"], "a 410 is not retried")
		e := sys.Do("GET", "/api/notifications/endpoints/"+goneID, partner, nil).JSON
		require.Equal(t, "disabled", e["status"])
		require.Contains(t, e["status_reason"], "410 Gone")
		require.Nil(t, e["secret"], "the secret is shown once")
		retry := sys.Do("POST", "/api/notifications/deliveries/"+d["id"].(string)+"/retry", partner, nil)
		require.Equal(t, http.StatusConflict, retry.Status)
		enabled := sys.Do("POST", "/api/notifications/endpoints/"+goneID+"/enable", partner, nil)
		require.Equal(t, "active", enabled.JSON["status"])
	})
	t.Run("RedirectNotFollowed", func(t *testing.T) {
		d := waitDelivery(t, sys, partner, redirectID, "failed")
		require.EqualValues(t, 302, d["last_status"])
		require.Contains(t, d["last_error"], "redirects are not followed")
		for i := range ok.requests() {
			r, _ := ok.request(i)
			require.NotEqual(t, "/moved", r.URL.Path, "the redirect target was never called")
		}
	})
	t.Run("Listing", func(t *testing.T) {
		failed := sys.Do("GET", "/api/notifications/deliveries?status=failed", partner, nil).JSON["items"].([]any)
		require.Len(t, failed, 2, "gone and redirect")
		require.Len(t, sys.Do("GET", "/api/notifications/endpoints", partner, nil).JSON["items"], 5)
		require.Equal(t, 204, sys.Do("DELETE", "/api/notifications/endpoints/"+redirectID, partner, nil).Status)
		require.Len(t, sys.Do("GET", "/api/notifications/endpoints", partner, nil).JSON["items"], 4)
		require.Equal(t, 404, sys.Do("GET", "/api/notifications/endpoints/"+redirectID, partner, nil).Status)
	})
	t.Run("SecretNotKeptForIdempotency", func(t *testing.T) {
		body := map[string]any{"url": "https://example.com/hook", "events": []string{"sync.failed"}}
		first := sys.Do("POST", "/api/notifications/endpoints", partner, body, "Idempotency-Key", "notify-1")
		require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
		var stored int
		require.NoError(t, sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM core.idempotency_keys WHERE position(convert_to($1, 'UTF8') in body) > 0`, first.JSON["secret"]).Scan(&stored))
		require.Zero(t, stored, "the signing secret is shown once, never stored unsealed")
		again := sys.Do("POST", "/api/notifications/endpoints", partner, body, "Idempotency-Key", "notify-1")
		require.NotEqual(t, first.JSON["secret"], again.JSON["secret"], "a repeat is not answered with the stored secret")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		r := sys.Do("POST", "/api/notifications/endpoints", partner, map[string]any{"url": "ftp://x", "events": []string{"server.connected", "sync.exploded"}})
		require.Equal(t, 400, r.Status)
		require.Contains(t, string(r.Body), `"field":"url"`)
		require.Contains(t, string(r.Body), `"field":"events[1]"`)
		_, token := sys.Account(partner, "customer")
		require.Equal(t, 403, sys.Do("GET", "/api/notifications/endpoints", token, nil).Status, "partners only")
	})
}
