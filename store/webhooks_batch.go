package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantry/tenantry"
)

// WebhookRecord is one delivery of a webhook for RecordWebhooks: the
// event and the WEBHOOKS stream sequence of its message.
type WebhookRecord struct {
	Event *tenantry.WebhookEvent
	Seq   uint64
}

// RecordWebhooks records many webhooks whose accounts have no handler to
// run, as RecordWebhook records one as processed, in one transaction:
// each first delivery is recorded processed, with a line in its
// connection's log. A delivery recorded before, or earlier in recs, is
// left as it is. It returns, for each of recs in order, the status of
// its delivery's record: processed for one it recorded, else the earlier
// record's ("" if there is none any more). EINVALID, and nothing
// recorded, if one names an unknown partner or account or holds text
// Postgres cannot store. Safe for concurrent use, across replicas too.
func (s *Store) RecordWebhooks(ctx context.Context, recs []WebhookRecord) ([]string, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	statuses := make([]string, len(recs))
	b := &pgx.Batch{}
	queueRecordWebhooks(b, firstDeliveries(recs))
	// A statement of its own, so it also sees the records that kept the
	// insert from writing, though committed since it began.
	accounts, conns, hooks := deliveryKeys(recs)
	b.Queue(`SELECT r.i, e.status FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(account, conn, hook, i)
		JOIN core.webhook_events e ON e.account_id = r.account AND e.connection_id = r.conn AND e.webhook_id = r.hook`,
		accounts, conns, hooks).Query(func(rows pgx.Rows) error {
		var i int
		var status string
		_, err := pgx.ForEachRow(rows, []any{&i, &status}, func() error { statuses[i-1] = status; return nil })
		return err
	})
	// One round trip, one transaction: a batch is one implicit transaction.
	err := s.pool.SendBatch(ctx, b).Close()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return nil, tenantry.Errorf(tenantry.EINVALID, "a batch of webhooks names an unknown partner or account")
	}
	if err != nil {
		return nil, translate(err, "record webhooks")
	}
	return statuses, nil
}

// firstDeliveries is recs without the deliveries that an earlier one of
// recs repeats, so that the first of them is the one recorded.
func firstDeliveries(recs []WebhookRecord) []WebhookRecord {
	type key struct{ account, conn, hook string }
	seen := make(map[key]bool, len(recs))
	first := make([]WebhookRecord, 0, len(recs))
	for _, r := range recs {
		k := key{r.Event.AccountID, r.Event.ConnectionID, r.Event.WebhookID}
		if !seen[k] {
			seen[k] = true
			first = append(first, r)
		}
	}
	return first
}

// deliveryKeys are the (account, connection, webhook id) of recs, as
// arrays.
func deliveryKeys(recs []WebhookRecord) (accounts, conns, hooks []string) {
	for _, r := range recs {
		accounts, conns, hooks = append(accounts, r.Event.AccountID), append(conns, r.Event.ConnectionID), append(hooks, r.Event.WebhookID)
	}
	return accounts, conns, hooks
}

// queueRecordWebhooks queues the insert of recs, processed, with the log
// line of each one inserted for a connection.
func queueRecordWebhooks(b *pgx.Batch, recs []WebhookRecord) {
	n := len(recs)
	ids, partners, cts, headers, queries, lines := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n)
	bodies, received, seqs := make([][]byte, n), make([]time.Time, n), make([]int64, n)
	for i, r := range recs {
		ev := r.Event
		ids[i], partners[i], cts[i], headers[i], queries[i] = ev.ID, ev.PartnerID, CleanText(ev.ContentType, 200),
			string(headerJSON(ev.Header)), ev.Query
		bodies[i], received[i], seqs[i], lines[i] = ev.Body, ev.ReceivedAt, int64(r.Seq), receivedLine(ev)
	}
	accounts, conns, hooks := deliveryKeys(recs)
	b.Queue(`WITH ins AS (
			INSERT INTO core.webhook_events (id, partner_id, account_id, connection_id, webhook_id, content_type, headers,
				query, body, status, received_at, stream_seq, processed_at)
			SELECT id, partner, account, conn, hook, ct, headers::jsonb, query, body, 'processed', received, seq, now()
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::bytea[], $10::timestamptz[], $11::int8[])
				AS r(id, partner, account, conn, hook, ct, headers, query, body, received, seq)
			ON CONFLICT (account_id, connection_id, webhook_id) DO NOTHING
			RETURNING id, account_id, connection_id)
		INSERT INTO core.connection_logs (connection_id, account_id, level, message)
		SELECT ins.connection_id, ins.account_id, 'info', l.line
		FROM ins JOIN unnest($1::text[], $12::text[]) AS l(id, line) ON l.id = ins.id
		WHERE ins.connection_id <> ''`,
		ids, partners, accounts, conns, hooks, cts, headers, queries, bodies, received, seqs, lines)
}

// receivedLine is the connection's log line for webhook ev.
func receivedLine(ev *tenantry.WebhookEvent) string {
	return fmt.Sprintf("webhook %s received (%s, %d bytes)", CleanText(ev.WebhookID, 200), contentType(ev.ContentType), len(ev.Body))
}

// WebhookHandlerAccounts returns which of accountIDs have a handler to
// run (WebhookHandlerID's, for many accounts in one query).
func (s *Store) WebhookHandlerAccounts(ctx context.Context, accountIDs []string) (map[string]bool, error) {
	rows, _ := s.pool.Query(ctx, `SELECT h.account_id `+handlerJoin+` WHERE h.account_id = ANY($1)`, accountIDs)
	has := map[string]bool{}
	var id string
	_, err := pgx.ForEachRow(rows, []any{&id}, func() error { has[id] = true; return nil })
	if err != nil {
		return nil, translate(err, "webhook handlers")
	}
	return has, nil
}
