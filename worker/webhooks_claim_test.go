package worker_test

import (
	"context"
	"errors"
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
// own its event; the one that claimed it runs the handler, the other is
// retried, and finds it handled: the handler runs once.
func TestWebhookSameMessageTwice(t *testing.T) {
	t.Parallel()
	sys := tenantrytest.Start(t, nil)
	partnerID, partner := sys.Partner()
	accountID, _ := sys.Account(partner, "twice")
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	h := &holdingHandler{started: make(chan struct{}), release: make(chan struct{})}
	p := worker.NewWebhooks(worker.WebhookConfig{}, sys.Node.Store, h, js, events.NewPublisher(js, 0), zaptest.NewLogger(t))

	msg := webhook.Message(&tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: partnerID, AccountID: accountID,
		WebhookID: "w1", ReceivedAt: time.Now(), Body: []byte(`{}`)})
	m := &events.Msg{Subject: msg.Subject, Header: nats.Header{}, Data: msg.Data, Stream: events.StreamWebhooks, Sequence: 42, Delivered: 1}
	for k, v := range msg.Header {
		m.Header.Set(k, v)
	}
	first := make(chan error, 1)
	go func() { first <- worker.HandleDelivery(p, t.Context(), m) }()
	<-h.started

	again := *m
	again.Delivered = 2
	require.ErrorContains(t, worker.HandleDelivery(p, t.Context(), &again), "being handled by another delivery")
	require.Equal(t, 1, h.count())

	close(h.release)
	require.NoError(t, <-first)
	again.Delivered = 3
	require.NoError(t, worker.HandleDelivery(p, t.Context(), &again), "retried: handled by then")
	require.Equal(t, 1, h.count(), "the handler ran once")
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
	sys := tenantrytest.Start(t, nil)
	partnerID, partner := sys.Partner()
	accountID, _ := sys.Account(partner, "takeover")
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	h := &failingOnce{}
	p := worker.NewWebhooks(worker.WebhookConfig{}, sys.Node.Store, h, js, events.NewPublisher(js, 0), zaptest.NewLogger(t))
	msg := webhook.Message(&tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: partnerID, AccountID: accountID,
		WebhookID: "w1", ReceivedAt: time.Now(), Body: []byte(`{}`)})
	delivery := func(seq uint64, header ...string) *events.Msg {
		m := &events.Msg{Subject: msg.Subject, Header: nats.Header{}, Data: msg.Data, Stream: events.StreamWebhooks, Sequence: seq, Delivered: 1}
		for k, v := range msg.Header {
			m.Header.Set(k, v)
		}
		for i := 0; i+1 < len(header); i += 2 {
			m.Header.Set(header[i], header[i+1])
		}
		return m
	}

	owner := delivery(42)
	require.Error(t, worker.HandleDelivery(p, t.Context(), owner), "the first run fails; the owner would retry")
	require.NoError(t, worker.HandleDelivery(p, t.Context(), delivery(99, events.HeaderRedrive, "7")), "the redrive runs it")
	require.Equal(t, 2, h.runs)
	var status string
	require.NoError(t, sys.Node.Store.Pool().QueryRow(t.Context(), `SELECT status FROM core.webhook_events
		WHERE account_id = $1 AND webhook_id = 'w1'`, accountID).Scan(&status))
	require.Equal(t, tenantry.WebhookProcessed, status)
	owner.Delivered = 2
	require.NoError(t, worker.HandleDelivery(p, t.Context(), owner))
	require.Equal(t, 2, h.runs, "the old owner does not run it again")
}
