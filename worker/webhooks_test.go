package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// heldHandler holds its first run of each webhook until release is
// closed, and counts every run.
type heldHandler struct {
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	runs    map[string]int
}

func (h *heldHandler) HandleWebhook(ctx context.Context, ev *tenantry.WebhookEvent) error {
	h.mu.Lock()
	h.runs[ev.WebhookID]++
	first := h.runs[ev.WebhookID] == 1
	h.mu.Unlock()
	if first {
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (h *heldHandler) let() { h.once.Do(func() { close(h.release) }) }

func (h *heldHandler) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs[id]
}

// TestWebhookLateDuplicateRunsOnce: a producer sends the same webhook
// again after JetStream's duplicate window, so it is a second message on
// the stream, while the first is still being handled. The second is
// acknowledged without running the handler; the first finishes it.
func TestWebhookLateDuplicateRunsOnce(t *testing.T) {
	h := &heldHandler{release: make(chan struct{}), runs: map[string]int{}}
	sys := tenantrytest.Start(t, func(c *node.Config) { c.Webhooks.Handler = h })
	t.Cleanup(h.let) // before the system stops, which waits for the held run
	_, partner := sys.Partner()
	accountID, _ := sys.Account(partner, "dup")
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	pub := events.NewPublisher(js, 0)
	ctx := context.Background()

	ev := &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: sys.PartnerOf(accountID), AccountID: accountID,
		WebhookID: "late-1", ContentType: "application/json", Body: []byte(`{"n":1}`), ReceivedAt: time.Now().UTC()}
	msg := webhook.Message(ev)
	require.NoError(t, pub.Publish(ctx, msg))
	require.Eventually(t, func() bool { return h.count("late-1") == 1 }, 10*time.Second, 10*time.Millisecond, "the first message runs")

	late := *ev
	late.ID, late.ReceivedAt = store.NewID("whk"), time.Now().UTC()
	again := webhook.Message(&late)
	again.ID += "/after-the-window" // JetStream no longer knows the first id
	require.NoError(t, pub.Publish(ctx, again))
	stream, err := js.Stream(ctx, events.StreamWebhooks)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, info.State.Msgs, "two messages of one webhook")
	consumer, err := js.Consumer(ctx, events.StreamWebhooks, "webhooks")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ci, err := consumer.Info(ctx)
		require.NoError(t, err)
		return ci.Delivered.Stream == info.State.LastSeq && ci.NumAckPending == 1
	}, 10*time.Second, 10*time.Millisecond, "the duplicate is acknowledged while the first is held")
	require.Equal(t, 1, h.count("late-1"), "the duplicate did not run the handler")

	h.let()
	require.Eventually(t, func() bool {
		ci, err := consumer.Info(ctx)
		require.NoError(t, err)
		return ci.NumAckPending == 0 && ci.AckFloor.Stream == info.State.LastSeq
	}, 10*time.Second, 10*time.Millisecond)
	var status string
	var seq int64
	require.NoError(t, sys.Node.Store.Pool().QueryRow(ctx, `SELECT status, stream_seq FROM core.webhook_events
		WHERE account_id = $1 AND webhook_id = 'late-1'`, accountID).Scan(&status, &seq))
	require.Equal(t, tenantry.WebhookProcessed, status)
	require.EqualValues(t, info.State.FirstSeq, seq, "the first message owns the event")
	require.Equal(t, 1, h.count("late-1"), "the handler ran once")
}
