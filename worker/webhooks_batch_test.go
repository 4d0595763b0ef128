package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/webhook"
)

// batchSetup is scriptSetup with one batch of webhooks at a time, so
// that webhooks sent while a batch is held form the next batch.
func batchSetup(t *testing.T) *scripted {
	t.Helper()
	sys := tenantrytest.Start(t, func(c *node.Config) {
		c.Webhooks.Worker.Consumer = events.ConsumerConfig{Concurrency: 1}
	})
	_, partner := sys.Partner()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return &scripted{sys: sys, partner: partner, js: js, pub: events.NewPublisher(js, 0)}
}

// holdBatch sends a webhook for account accountID (which has no
// handler) and holds the batch it is in until the returned release is
// called: an open transaction has written the same delivery, so the
// batch's insert waits for it to end.
func (s *scripted) holdBatch(t *testing.T, accountID string) (release func()) {
	t.Helper()
	ctx := t.Context()
	gate := s.hook(accountID, "gate", `{}`)
	tx, err := s.sys.Node.Store.Pool().Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO core.webhook_events (id, partner_id, account_id, webhook_id, body, status, received_at)
		VALUES ($1, $2, $3, 'gate', '', 'processed', now())`, store.NewID("whk"), gate.PartnerID, accountID)
	require.NoError(t, err)
	var pid int
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	released := false
	release = func() {
		if !released {
			released = true
			require.NoError(t, tx.Rollback(context.Background()))
		}
	}
	t.Cleanup(release)
	s.send(t, gate, false)
	require.Eventually(t, func() bool {
		var n int
		err := s.sys.Node.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid).Scan(&n)
		return err == nil && n == 1
	}, 10*time.Second, 10*time.Millisecond, "the gate's batch never waited")
	return release
}

// sendBatch sends msgs while a batch is held, waits until the consumer
// has them all, and releases the held batch: msgs are the next batch.
func (s *scripted) sendBatch(t *testing.T, release func(), msgs ...tenantry.Message) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, s.pub.Publish(t.Context(), m))
	}
	stream, err := s.js.Stream(t.Context(), events.StreamWebhooks)
	require.NoError(t, err)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return s.consumerInfo(t).Delivered.Stream == info.State.LastSeq
	}, 10*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // from the client's buffer to the next batch
	release()
	require.Eventually(t, func() bool {
		ci := s.consumerInfo(t)
		return ci.NumAckPending == 0 && ci.NumPending == 0 && ci.AckFloor.Stream == info.State.LastSeq
	}, 15*time.Second, 10*time.Millisecond, "every message settled")
}

func (s *scripted) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := s.js.Consumer(t.Context(), events.StreamWebhooks, "webhooks")
	require.NoError(t, err)
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	return info
}

// lateDuplicate is another message of webhook ev, as its producer sends
// it after JetStream's duplicate window.
func lateDuplicate(ev *tenantry.WebhookEvent, n string) tenantry.Message {
	late := *ev
	late.ID = store.NewID("whk")
	m := webhook.Message(&late)
	m.ID += "/late-" + n
	return m
}

// TestWebhookBatchDuplicates: three messages of one webhook in one batch
// record it once, by the first, with one line in the connection's log.
func TestWebhookBatchDuplicates(t *testing.T) {
	t.Parallel()
	s := batchSetup(t)
	accountID, _ := s.sys.Account(s.partner, "dups")
	release := s.holdBatch(t, accountID)
	ev := s.hook(accountID, "dup-1", `{"n":1}`)
	ev.ConnectionID = "srv_dups"
	stream, err := s.js.Stream(t.Context(), events.StreamWebhooks)
	require.NoError(t, err)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)

	s.sendBatch(t, release, webhook.Message(ev), lateDuplicate(ev, "1"), lateDuplicate(ev, "2"))
	var n int
	var id, status string
	var seq int64
	pool := s.sys.Node.Store.Pool()
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*), min(id), min(status), min(stream_seq) FROM core.webhook_events
		WHERE account_id = $1 AND webhook_id = 'dup-1'`, accountID).Scan(&n, &id, &status, &seq))
	require.Equal(t, 1, n, "recorded once")
	require.Equal(t, ev.ID, id, "by the first message")
	require.Equal(t, int64(info.State.LastSeq+1), seq, "which owns it")
	require.Equal(t, tenantry.WebhookProcessed, status)
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM core.connection_logs WHERE connection_id = 'srv_dups'`).Scan(&n))
	require.Equal(t, 1, n, "one log line")
	require.Empty(t, deadLetters(t, s.sys))
	require.NotContains(t, s.sys.Logs(), "handling them one by one", "the batch was recorded in one transaction")
}

// TestWebhookBatchMixed: one batch holds webhooks of an account with a
// handler script (one of them twice) and of an account without. The
// script runs once per webhook of the first; the second's are recorded
// processed without a run.
func TestWebhookBatchMixed(t *testing.T) {
	t.Parallel()
	s := batchSetup(t)
	handled, _ := s.account(t, "handled", returnOne)
	plain, _ := s.sys.Account(s.partner, "plain")
	release := s.holdBatch(t, plain)
	h1, h2, p1 := s.hook(handled, "h-1", `{}`), s.hook(handled, "h-2", `{}`), s.hook(plain, "p-1", `{}`)

	s.sendBatch(t, release, webhook.Message(h1), webhook.Message(p1), lateDuplicate(h1, "1"), webhook.Message(h2))
	for _, ev := range []*tenantry.WebhookEvent{h1, h2} {
		status, _, runID, runs := s.finished(t, ev)
		require.Equal(t, tenantry.WebhookProcessed, status, ev.WebhookID)
		require.NotEmpty(t, runID, "%s: the handler ran", ev.WebhookID)
		require.Equal(t, 1, runs, "%s: the handler ran once", ev.WebhookID)
	}
	status, _, runID, runs := s.finished(t, p1)
	require.Equal(t, tenantry.WebhookProcessed, status)
	require.Empty(t, runID)
	require.Zero(t, runs, "no handler, no run")
	require.Empty(t, deadLetters(t, s.sys))
}

// TestWebhookBatchUnknownAccount: a webhook naming an unknown account
// fails its batch's transaction; it alone is dead-lettered, and the
// others of the batch are recorded.
func TestWebhookBatchUnknownAccount(t *testing.T) {
	t.Parallel()
	s := batchSetup(t)
	accountID, _ := s.sys.Account(s.partner, "known")
	release := s.holdBatch(t, accountID)
	good1, good2 := s.hook(accountID, "good-1", `{}`), s.hook(accountID, "good-2", `{}`)
	bad := s.hook(accountID, "bad-1", `{}`)
	bad.AccountID = "sub_unknown"

	s.sendBatch(t, release, webhook.Message(good1), webhook.Message(bad), webhook.Message(good2))
	for _, ev := range []*tenantry.WebhookEvent{good1, good2} {
		status, _, _, _ := s.finished(t, ev)
		require.Equal(t, tenantry.WebhookProcessed, status, ev.WebhookID)
	}
	dead := deadLetters(t, s.sys)
	require.Len(t, dead, 1, "only the bad webhook is dead-lettered")
	require.Equal(t, "dlq."+webhook.Subject("sub_unknown", ""), dead[0].Subject)
	require.Equal(t, "terminated", dead[0].Header.Get(events.HeaderDLQReason))
	require.Contains(t, dead[0].Header.Get(events.HeaderDLQError), "unknown partner or account")
}

// TestWebhookBatchPostgresOutage: Postgres is unreachable from the
// worker for longer than a webhook's whole retry budget; the batch waits
// it out and records the webhook once the database is back, rather than
// spending its deliveries.
func TestWebhookBatchPostgresOutage(t *testing.T) {
	t.Parallel()
	sys := tenantrytest.Start(t, func(c *node.Config) { c.Worker = false })
	proxy, viaProxy := tenantrytest.NewPostgresProxy(t)
	tenantrytest.StartWithNATS(t, sys.NATS, func(c *node.Config) {
		c.API, c.Worker, c.DatabaseURL = false, true, viaProxy
		c.Webhooks.Worker.Consumer = events.ConsumerConfig{MaxDeliver: 2, AckWait: time.Second,
			BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
	})
	_, partner := sys.Partner()
	accountID, _ := sys.Account(partner, "outage")
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	s := &scripted{sys: sys, partner: partner, js: js, pub: events.NewPublisher(js, 0)}
	proxy.Cut()
	ev := s.hook(accountID, "outage-1", `{}`)
	s.send(t, ev, false)
	time.Sleep(2 * time.Second) // ten times the retry budget
	proxy.Restore()

	status, _, _, _ := s.finished(t, ev)
	require.Equal(t, tenantry.WebhookProcessed, status)
	require.Empty(t, deadLetters(t, sys))
}
