package worker_test

import (
	"context"
	"errors"
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

// TestWebhookSecondMessageWhileRunning: the same webhook arrives as a
// second message while the first is still being handled: a producer's
// late duplicate (after JetStream's duplicate window), or an operator's
// replay or redrive of the first. A duplicate is acknowledged without
// running the handler; a replay or redrive waits for the first, which
// holds the event's claim, and then finds it handled. The first finishes
// it, and the handler runs once.
func TestWebhookSecondMessageWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		name  string
		waits bool
		again func(first *tenantry.WebhookEvent) tenantry.Message
	}{
		{"LateDuplicate", false, func(first *tenantry.WebhookEvent) tenantry.Message {
			late := *first
			late.ID, late.ReceivedAt = store.NewID("whk"), time.Now().UTC()
			m := webhook.Message(&late)
			m.ID += "/after-the-window" // JetStream no longer knows the first id
			return m
		}},
		{"Replay", true, func(first *tenantry.WebhookEvent) tenantry.Message {
			m := webhook.Message(first)
			m.ID, m.Header[events.HeaderReplay] = "replay-rpl_test-1", "rpl_test"
			return m
		}},
		{"Redrive", true, func(first *tenantry.WebhookEvent) tenantry.Message {
			m := webhook.Message(first)
			m.ID, m.Header[events.HeaderRedrive] = "redrive-1", "1"
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secondMessageWhileRunning(t, tc.waits, tc.again)
		})
	}
}

func secondMessageWhileRunning(t *testing.T, waits bool, again func(first *tenantry.WebhookEvent) tenantry.Message) {
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
	require.NoError(t, pub.Publish(ctx, webhook.Message(ev)))
	require.Eventually(t, func() bool { return h.count("late-1") == 1 }, 10*time.Second, 10*time.Millisecond, "the first message runs")

	require.NoError(t, pub.Publish(ctx, again(ev)))
	stream, err := js.Stream(ctx, events.StreamWebhooks)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, info.State.Msgs, "two messages of one webhook")
	consumer, err := js.Consumer(ctx, events.StreamWebhooks, "webhooks")
	require.NoError(t, err)
	pending := func() int {
		ci, err := consumer.Info(ctx)
		require.NoError(t, err)
		if ci.Delivered.Stream != info.State.LastSeq {
			return -1
		}
		return ci.NumAckPending
	}
	if waits {
		require.Eventually(t, func() bool { return pending() == 2 }, 10*time.Second, 10*time.Millisecond, "both delivered")
		require.Never(t, func() bool { return pending() != 2 }, 1500*time.Millisecond, 50*time.Millisecond,
			"the second message waits while the first is held")
	} else {
		require.Eventually(t, func() bool { return pending() == 1 }, 10*time.Second, 10*time.Millisecond,
			"the second message is acknowledged while the first is held")
	}
	require.Equal(t, 1, h.count("late-1"), "the second message did not run the handler")

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

// failingHandler fails each webhook with the errors queued for it, in
// turn, then succeeds; it counts every run.
type failingHandler struct {
	mu   sync.Mutex
	errs map[string][]error
	runs map[string]int
}

func (h *failingHandler) HandleWebhook(_ context.Context, ev *tenantry.WebhookEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs[ev.WebhookID]++
	if q := h.errs[ev.WebhookID]; len(q) > 0 {
		h.errs[ev.WebhookID] = q[1:]
		return q[0]
	}
	return nil
}

func (h *failingHandler) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.runs[id]
}

// TestWebhookReplayRetried: a replay of a failed webhook owns it from
// then on: when the handler fails for a reason that is retried, the
// replay's own redelivery runs it again, until it is processed.
func TestWebhookReplayRetried(t *testing.T) {
	t.Parallel()
	h := &failingHandler{runs: map[string]int{}, errs: map[string][]error{
		"r-1": {events.Permanent(errors.New("broken")), errors.New("no runner free")}}}
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.Webhooks.Handler = h
		c.Webhooks.Worker.Consumer = events.ConsumerConfig{BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	})
	_, partner := sys.Partner()
	accountID, _ := sys.Account(partner, "replayed")
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	pub := events.NewPublisher(js, 0)
	ctx := t.Context()

	ev := &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: sys.PartnerOf(accountID), AccountID: accountID,
		WebhookID: "r-1", ContentType: "application/json", Body: []byte(`{}`), ReceivedAt: time.Now().UTC()}
	require.NoError(t, pub.Publish(ctx, webhook.Message(ev)))
	waitWebhookStatus(t, sys, accountID, "r-1", tenantry.WebhookFailed)
	replay := webhook.Message(ev)
	replay.ID, replay.Header[events.HeaderReplay] = "replay-rpl_retried-1", "rpl_retried"
	require.NoError(t, pub.Publish(ctx, replay))
	waitWebhookStatus(t, sys, accountID, "r-1", tenantry.WebhookProcessed)
	require.Equal(t, 3, h.count("r-1"), "failed for good, failed for now, then ran to the end")
}

// waitWebhookStatus waits until webhook webhookID of account accountID
// is recorded with status.
func waitWebhookStatus(t *testing.T, sys *tenantrytest.System, accountID, webhookID, status string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var got string
		err := sys.Node.Store.Pool().QueryRow(t.Context(), `SELECT status FROM core.webhook_events
			WHERE account_id = $1 AND webhook_id = $2`, accountID, webhookID).Scan(&got)
		return err == nil && got == status
	}, 15*time.Second, 10*time.Millisecond, "%s never %s", webhookID, status)
}
