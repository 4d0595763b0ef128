package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantry/tenantry"
)

const webhookEventColumns = `id, partner_id, account_id, connection_id, webhook_id, content_type, headers, query,
	octet_length(body), status, error, attempts, received_at, processed_at, run_id, stream_seq`

func scanWebhookEvent(row pgx.Row) (*tenantry.WebhookEvent, error) {
	ev := &tenantry.WebhookEvent{}
	return ev, row.Scan(webhookEventDest(ev)...)
}

// webhookEventDest are the scan destinations of webhookEventColumns.
func webhookEventDest(ev *tenantry.WebhookEvent) []any {
	return []any{&ev.ID, &ev.PartnerID, &ev.AccountID, &ev.ConnectionID, &ev.WebhookID, &ev.ContentType, &ev.Header,
		&ev.Query, &ev.Size, &ev.Status, &ev.Error, &ev.Attempts, &ev.ReceivedAt, &ev.ProcessedAt, &ev.RunID, &ev.StreamSeq}
}

// RecordWebhook records the first delivery of ev from the WEBHOOKS stream
// (sequence seq) with status (processed when there is no handler to
// run, received when there is), and for a connection's webhook a line in
// the connection's log, in one transaction. When the same delivery (same
// account, connection and webhook id) was recorded before, nothing is
// written and that record is returned with inserted false; its StreamSeq
// names the message that was recorded first, which alone runs the
// handler (a producer's retry or a redelivery is processed once) until a
// replay reopens the event (ReopenWebhook).
// EINVALID if ev names an unknown partner or account.
func (s *Store) RecordWebhook(ctx context.Context, ev *tenantry.WebhookEvent, seq uint64, status string) (rec *tenantry.WebhookEvent, inserted bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rec, err = scanWebhookEvent(tx.QueryRow(ctx, `INSERT INTO core.webhook_events (id, partner_id, account_id,
			connection_id, webhook_id, content_type, headers, query, body, status, received_at, stream_seq, processed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $10 = 'processed' THEN now() END)
			ON CONFLICT (account_id, connection_id, webhook_id) DO NOTHING RETURNING `+webhookEventColumns,
			ev.ID, ev.PartnerID, ev.AccountID, ev.ConnectionID, ev.WebhookID, CleanText(ev.ContentType, 200),
			headerJSON(ev.Header), ev.Query, ev.Body, status, ev.ReceivedAt, int64(seq)))
		if errors.Is(err, pgx.ErrNoRows) {
			rec, err = scanWebhookEvent(tx.QueryRow(ctx, `SELECT `+webhookEventColumns+` FROM core.webhook_events
				WHERE account_id = $1 AND connection_id = $2 AND webhook_id = $3`, ev.AccountID, ev.ConnectionID, ev.WebhookID))
			return err
		}
		if err != nil {
			return err
		}
		inserted = true
		if ev.ConnectionID == "" {
			return nil
		}
		b := &pgx.Batch{}
		queueLog(b, &tenantry.Connection{ID: ev.ConnectionID, AccountID: ev.AccountID}, "info", receivedLine(ev), "")
		return tx.SendBatch(ctx, b).Close()
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return nil, false, tenantry.Errorf(tenantry.EINVALID, "webhook %s names an unknown partner or account", ev.ID)
	}
	if err != nil {
		return nil, false, translate(err, "record webhook "+ev.ID)
	}
	return rec, inserted, nil
}

// headerJSON stores h as a JSON object (never null).
func headerJSON(h map[string][]string) []byte {
	if h == nil {
		return []byte("{}")
	}
	raw, _ := json.Marshal(h) // strings only: cannot fail
	return raw
}

func contentType(ct string) string {
	if ct == "" {
		return "no content type"
	}
	return CleanText(ct, 100)
}

// RecordWebhookError counts a failed handler run of webhook event id
// that will be retried, keeping reason.
func (s *Store) RecordWebhookError(ctx context.Context, id, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET attempts = attempts + 1, error = $2
		WHERE id = $1 AND status = 'received'`, id, CleanText(reason, 1000))
	if err != nil {
		return fmt.Errorf("record webhook error: %w", err)
	}
	return nil
}

// FinishWebhook ends the handler run of webhook event ev, if it is still
// received: processed, or failed with reason, in which case the
// connection's log says so and a webhook.failed event (naming the
// event's latest run, if a script ran) is written to the outbox. run,
// when a script ran, is recorded as the event's latest run. All of it is
// one transaction, so a run is never recorded on an event left to run
// again. It returns the messages to publish; none when the event had
// already finished (a concurrent or repeated run, which is still
// recorded).
func (s *Store) FinishWebhook(ctx context.Context, ev *tenantry.WebhookEvent, run *WebhookRun, status, reason string) ([]tenantry.Message, error) {
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b, runID, finished := &pgx.Batch{}, "", false
		if run != nil {
			queueWebhookRun(b, run)
			runID = run.ID
		}
		b.Queue(`UPDATE core.webhook_events SET status = $2, error = $3, attempts = attempts + 1, processed_at = now(),
			run_id = coalesce(nullif($4, ''), run_id) WHERE id = $1 AND status = 'received' RETURNING run_id`,
			ev.ID, status, CleanText(reason, 1000), runID).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&runID)
			finished = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // finished already
			}
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil || !finished || status != tenantry.WebhookFailed {
			return err
		}
		b = &pgx.Batch{}
		msgs = queueWebhookFailed(b, ev, reason, runID)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("finish webhook %s: %w", ev.ID, err)
	}
	return msgs, nil
}

// queueWebhookFailed queues the connection's log line and the
// webhook.failed event of ev, failed with reason after run runID ("" for
// none), and returns the event's message.
func queueWebhookFailed(b *pgx.Batch, ev *tenantry.WebhookEvent, reason, runID string) []tenantry.Message {
	data, _ := json.Marshal(map[string]string{"webhook_event_id": ev.ID, "connection_id": ev.ConnectionID, // strings: cannot fail
		"webhook_id": ev.WebhookID, "error": reason, "run_id": runID})
	msgs := []tenantry.Message{tenantry.Event{ID: NewID("evt"), Type: tenantry.EventWebhookFailed, PartnerID: ev.PartnerID,
		AccountID: ev.AccountID, At: time.Now().UTC(), Data: data}.Message()}
	if ev.ConnectionID != "" {
		queueLog(b, &tenantry.Connection{ID: ev.ConnectionID, AccountID: ev.AccountID}, "error",
			"webhook "+CleanText(ev.WebhookID, 200)+" handler failed: "+CleanText(reason, 500), "")
	}
	queueOutbox(b, msgs...)
	return msgs
}

// ClaimWebhook claims received webhook event id for the delivery about
// to run its handler, for lease, and reports whether it did: false while
// another delivery's claim holds, or once the event is handled.
func (s *Store) ClaimWebhook(ctx context.Context, id string, lease time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET claimed_until = now() + $2::interval
		WHERE id = $1 AND status = 'received' AND (claimed_until IS NULL OR claimed_until < now())`, id, lease)
	if err != nil {
		return false, fmt.Errorf("claim webhook: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RenewWebhookClaim extends the claim on webhook event id by lease from
// now, while it is received.
func (s *Store) RenewWebhookClaim(ctx context.Context, id string, lease time.Duration) error {
	if _, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET claimed_until = now() + $2::interval
		WHERE id = $1 AND status = 'received'`, id, lease); err != nil {
		return fmt.Errorf("renew webhook claim: %w", err)
	}
	return nil
}

// ReleaseWebhookClaim gives the claim on webhook event id up.
func (s *Store) ReleaseWebhookClaim(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET claimed_until = NULL
		WHERE id = $1 AND claimed_until IS NOT NULL`, id); err != nil {
		return fmt.Errorf("give up webhook claim: %w", err)
	}
	return nil
}

// WebhookReceived reports whether webhook event id is still received
// (not handled yet).
func (s *Store) WebhookReceived(ctx context.Context, id string) (bool, error) {
	var received bool
	err := s.pool.QueryRow(ctx, `SELECT status = 'received' FROM core.webhook_events WHERE id = $1`, id).Scan(&received)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return received, translate(err, "webhook event")
}

// TakeOverWebhook makes seq, a replay or redrive, the message that owns
// received webhook event id, unless a delivery is running its handler
// now (a live claim), and reports whether it did. The owner it replaces
// may be dead-lettered (the worker died on its last delivery) or
// waiting to retry, in which case it finds itself no longer the owner.
func (s *Store) TakeOverWebhook(ctx context.Context, id string, seq uint64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET stream_seq = $2
		WHERE id = $1 AND status = 'received' AND (claimed_until IS NULL OR claimed_until < now())`, id, int64(seq))
	if err != nil {
		return false, fmt.Errorf("take over webhook: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReopenWebhook sets a failed webhook event back to received, so a
// replay or redrive (stream sequence seq) runs its handler again: that
// message now owns the handler's runs (StreamSeq). It reports whether it
// did; an event that is received or processed is left as it is.
func (s *Store) ReopenWebhook(ctx context.Context, id string, seq uint64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE core.webhook_events SET status = 'received', processed_at = NULL, stream_seq = $2,
		claimed_until = NULL WHERE id = $1 AND status = 'failed'`, id, int64(seq))
	if err != nil {
		return false, fmt.Errorf("reopen webhook: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// WebhookEvents lists the webhook events caller may see (a partner's
// accounts', or an end-customer's own), narrowed by f, in the order they
// were received; keyset-paged by id. Bodies are not loaded.
func (s *Store) WebhookEvents(ctx context.Context, caller tenantry.Caller, f tenantry.WebhookFilter) ([]*tenantry.WebhookEvent, string, error) {
	f.Limit = pageLimit(f.Page)
	account := f.AccountID
	if caller.AccountID != "" {
		if account != "" && account != caller.AccountID {
			return nil, "", nil
		}
		account = caller.AccountID
	}
	return listPage(ctx, s, "list webhook events", f.Limit, scanWebhookEvent, func(ev *tenantry.WebhookEvent) string { return ev.ID },
		`SELECT `+webhookEventColumns+` FROM core.webhook_events
		WHERE partner_id = $1 AND ($2 = '' OR account_id = $2) AND ($3 = '' OR connection_id = $3)
		AND ($4 = '' OR status = $4) AND ($5::timestamptz IS NULL OR received_at >= $5)
		AND ($6::timestamptz IS NULL OR received_at < $6) AND id > $7
		ORDER BY id LIMIT $8`, caller.PartnerID, account, f.ConnectionID, f.Status, timeOrNil(f.Since), timeOrNil(f.Until),
		f.Cursor, f.Limit+1)
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// WebhookEvent returns webhook event id with its body if caller may see
// it; ENOTFOUND otherwise.
func (s *Store) WebhookEvent(ctx context.Context, caller tenantry.Caller, id string) (*tenantry.WebhookEvent, error) {
	ev := &tenantry.WebhookEvent{}
	err := s.pool.QueryRow(ctx, `SELECT `+webhookEventColumns+`, body FROM core.webhook_events
		WHERE id = $1 AND partner_id = $2 AND ($3 = '' OR account_id = $3)`, id, caller.PartnerID, caller.AccountID).
		Scan(append(webhookEventDest(ev), &ev.Body)...)
	if err != nil {
		return nil, translate(err, "webhook event "+id)
	}
	return ev, nil
}
