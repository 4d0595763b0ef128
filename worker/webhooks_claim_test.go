package worker_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
	"github.com/tenantry/tenantry/worker"
)

// holdingHandler holds its first run until release is closed, and counts
// its runs.
type holdingHandler struct {
	started, release chan struct{}
	mu               sync.Mutex
	runs             int
}

func (h *holdingHandler) HandleWebhook(ctx context.Context, _ *tenantry.WebhookEvent) error {
	h.mu.Lock()
	h.runs++
	first := h.runs == 1
	h.mu.Unlock()
	if first {
		close(h.started)
		<-h.release
	}
	return nil
}

func (h *holdingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs
}

// TestWebhookSameMessageTwice: two deliveries of the same message at once
// (JetStream delivered it again while a copy waited unacknowledged) both
// own its event; the one that claimed it runs the handler, the other
// waits for it in place, and finds it handled: the handler runs once.
func TestWebhookSameMessageTwice(t *testing.T) {
	t.Parallel()
	h := &holdingHandler{started: make(chan struct{}), release: make(chan struct{})}
	_, p, m := claimSetup(t, "twice", worker.WebhookConfig{}, h)
	first := make(chan error, 1)
	go func() { first <- worker.HandleDelivery(p, t.Context(), m) }()
	<-h.started

	again := *m
	again.Delivered = 2
	second := make(chan error, 1)
	go func() { second <- worker.HandleDelivery(p, t.Context(), &again) }()
	select {
	case err := <-second:
		t.Fatalf("the second delivery did not wait for the first: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	require.Equal(t, 1, h.count())

	close(h.release)
	require.NoError(t, <-first)
	require.NoError(t, <-second, "it found the webhook handled")
	require.Equal(t, 1, h.count(), "the handler ran once")
}

// TestWebhookClaimLapses: a claim whose worker died lapses, and a
// delivery waiting for it then runs the handler, having spent no
// delivery meanwhile.
func TestWebhookClaimLapses(t *testing.T) {
	t.Parallel()
	h := &holdingHandler{started: make(chan struct{}), release: make(chan struct{})}
	close(h.release)
	sys, p, m := claimSetup(t, "lapses", worker.WebhookConfig{ClaimLease: 2 * time.Second}, h)
	// The owner's first delivery recorded the event and claimed it, then
	// its worker died: the record and the claim are all that is left.
	_, err := sys.Node.Store.Pool().Exec(t.Context(), `INSERT INTO core.webhook_events (id, partner_id, account_id,
		webhook_id, body, status, received_at, stream_seq, claimed_until)
		SELECT $1, partner_id, id, 'w1', '', 'received', now(), 42, now() + interval '1500 milliseconds'
		FROM core.accounts WHERE id = $2`, store.NewID("whk"), m.Header.Get(tenantry.HeaderTenant))
	require.NoError(t, err)
	start := time.Now()
	m.Delivered = 2
	require.NoError(t, worker.HandleDelivery(p, t.Context(), m))
	require.GreaterOrEqual(t, time.Since(start), time.Second, "it waited for the claim to lapse")
	require.Equal(t, 1, h.count())
}

// claimSetup makes an account and a webhook processor with handler h,
// and returns a delivery (sequence 42) of a webhook for the account.
func claimSetup(t *testing.T, name string, cfg worker.WebhookConfig, h tenantry.WebhookHandler) (*tenantrytest.System, *worker.Webhooks, *events.Msg) {
	t.Helper()
	sys := tenantrytest.Start(t, nil)
	partnerID, partner := sys.Partner()
	accountID, _ := sys.Account(partner, name)
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	p := worker.NewWebhooks(cfg, sys.Node.Store, h, js, events.NewPublisher(js, 0), zaptest.NewLogger(t))
	msg := webhook.Message(&tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: partnerID, AccountID: accountID,
		WebhookID: "w1", ReceivedAt: time.Now(), Body: []byte(`{}`)})
	m := &events.Msg{Subject: msg.Subject, Header: nats.Header{}, Data: msg.Data, Stream: events.StreamWebhooks, Sequence: 42, Delivered: 1}
	for k, v := range msg.Header {
		m.Header.Set(k, v)
	}
	return sys, p, m
}

// failingOnce fails its first run (not the script's doing: retried), then
// succeeds, and counts its runs.
type failingOnce struct {
	mu   sync.Mutex
	runs int
}

func (h *failingOnce) HandleWebhook(context.Context, *tenantry.WebhookEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runs++; h.runs == 1 {
		return errors.New("no runner free")
	}
	return nil
}

// TestWebhookRedriveTakesOver: a webhook still received whose owner is
// not running it (dead-lettered after the worker died on its last
// delivery, or waiting to retry) is run by an operator's redrive, which
// takes it over; the old owner, delivered again, then finds it handled.
func TestWebhookRedriveTakesOver(t *testing.T) {
	t.Parallel()
	h := &failingOnce{}
	sys, p, owner := claimSetup(t, "takeover", worker.WebhookConfig{}, h)
	require.Error(t, worker.HandleDelivery(p, t.Context(), owner), "the first run fails; the owner would retry")
	redrive := *owner
	redrive.Sequence, redrive.Header = 99, nats.Header(http.Header(owner.Header).Clone())
	redrive.Header.Set(events.HeaderRedrive, "7")
	require.NoError(t, worker.HandleDelivery(p, t.Context(), &redrive), "the redrive runs it")
	require.Equal(t, 2, h.runs)
	var status string
	require.NoError(t, sys.Node.Store.Pool().QueryRow(t.Context(), `SELECT status FROM core.webhook_events
		WHERE account_id = $1 AND webhook_id = 'w1'`, owner.Header.Get(tenantry.HeaderTenant)).Scan(&status))
	require.Equal(t, tenantry.WebhookProcessed, status)
	owner.Delivered = 2
	require.NoError(t, worker.HandleDelivery(p, t.Context(), owner))
	require.Equal(t, 2, h.runs, "the old owner does not run it again")
}
