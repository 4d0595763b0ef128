package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const deliveryColumns = `d.id, d.endpoint_id, d.partner_id, d.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at,
	d.last_status, d.last_error, d.created_at, d.updated_at`

func deliveryDest(d *tenantry.NotificationDelivery) []any {
	return []any{&d.ID, &d.EndpointID, &d.PartnerID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.LastStatus, &d.LastError, &d.CreatedAt, &d.UpdatedAt}
}

func scanDelivery(row pgx.Row) (*tenantry.NotificationDelivery, error) {
	d := &tenantry.NotificationDelivery{}
	return d, row.Scan(deliveryDest(d)...)
}

// QueueNotifications queues ev, whose body as published is payload, for
// every active endpoint of its partner subscribed to its type, due now.
// Queuing the same event again queues nothing more. It returns how many
// deliveries it queued.
func (s *Store) QueueNotifications(ctx context.Context, ev tenantry.Event, payload []byte) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM core.notification_endpoints WHERE partner_id = $1 AND status = 'active'
		AND deleted_at IS NULL AND ($2 = ANY(events) OR '*' = ANY(events))`, ev.PartnerID, ev.Type)
	if err != nil {
		return 0, fmt.Errorf("notification endpoints: %w", err)
	}
	endpoints, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(endpoints) == 0 {
		return 0, translate(err, "notification endpoints")
	}
	b := &pgx.Batch{}
	for _, e := range endpoints {
		b.Queue(`INSERT INTO core.notification_deliveries (id, endpoint_id, partner_id, event_id, event_type, payload, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
			NewID("ntf"), e, ev.PartnerID, ev.ID, ev.Type, payload)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("queue notifications: %w", err)
	}
	return len(endpoints), nil
}

// DueDelivery is a delivery claimed for an attempt, with what sending it
// takes.
type DueDelivery struct {
	*tenantry.NotificationDelivery
	Payload        []byte
	URL            string
	Secret         []byte // sealed; AAD NotificationSecretAAD(EndpointID)
	EndpointActive bool   // false once the endpoint is disabled or deleted
}

// ClaimDeliveries claims up to limit pending deliveries that are due,
// for lease: until then no other claimer gets them, and if the claimer
// dies they are due again after it. Safe with several claimers.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*DueDelivery, error) {
	rows, err := s.pool.Query(ctx, `UPDATE core.notification_deliveries d SET next_attempt_at = now() + $2::interval
		FROM core.notification_endpoints e
		WHERE e.id = d.endpoint_id AND d.id IN (SELECT id FROM core.notification_deliveries
			WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns+`, d.payload, e.url, e.secret, e.status = 'active' AND e.deleted_at IS NULL`, limit, lease)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*DueDelivery, error) {
		d := &DueDelivery{NotificationDelivery: &tenantry.NotificationDelivery{}}
		err := row.Scan(append(deliveryDest(d.NotificationDelivery), &d.Payload, &d.URL, &d.Secret, &d.EndpointActive)...)
		return d, err
	})
}

// DeliveryOutcome is what an attempt decided.
type DeliveryOutcome struct {
	Attempt *tenantry.NotificationAttempt // nil when no request was sent
	Status  string                        // pending (NextAttemptAt set), succeeded or failed
	Next    time.Time
	Error   string
	// Disable disables the endpoint with Error as the reason, and fails
	// its other pending deliveries (a 410 Gone).
	Disable bool
}

// RecordDelivery records the outcome of an attempt at delivery d, in one
// transaction: the attempt, the delivery's new state (unless d's claim
// was lost: then only the attempt), and when asked, the endpoint
// disabled.
func (s *Store) RecordDelivery(ctx context.Context, d *DueDelivery, o DeliveryOutcome) error {
	var next *time.Time
	if o.Status == tenantry.DeliveryPending {
		next = &o.Next
	}
	b := &pgx.Batch{}
	code, sent := 0, 0
	if a := o.Attempt; a != nil {
		code, sent = a.StatusCode, 1
		b.Queue(`INSERT INTO core.notification_attempts (delivery_id, status_code, error, duration_ms) VALUES ($1, $2, $3, $4)`,
			d.ID, a.StatusCode, CleanText(a.Error, 500), a.DurationMS)
	}
	// Only while the claim holds (next_attempt_at is still the lease this
	// worker took): a delivery claimed again after its lease ran out, or
	// retried by hand meanwhile, is someone else's to record.
	b.Queue(`UPDATE core.notification_deliveries SET status = $2, next_attempt_at = $3, attempts = attempts + $4,
		last_status = CASE WHEN $4 = 1 THEN $5 ELSE last_status END, last_error = $6, updated_at = now()
		WHERE id = $1 AND next_attempt_at IS NOT DISTINCT FROM $7`,
		d.ID, o.Status, next, sent, code, CleanText(o.Error, 500), d.NextAttemptAt)
	if o.Disable {
		b.Queue(`UPDATE core.notification_endpoints SET status = 'disabled', status_reason = $2, updated_at = now()
			WHERE id = $1`, d.EndpointID, CleanText(o.Error, 500))
		b.Queue(`UPDATE core.notification_deliveries SET status = 'failed', next_attempt_at = NULL,
			last_error = 'the endpoint is disabled', updated_at = now() WHERE endpoint_id = $1 AND status = 'pending'`, d.EndpointID)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record delivery %s: %w", d.ID, err)
	}
	return nil
}

// NotificationDeliveries lists partner partnerID's deliveries narrowed
// by f, oldest first, keyset-paged by id.
func (s *Store) NotificationDeliveries(ctx context.Context, partnerID string, f tenantry.DeliveryFilter) ([]*tenantry.NotificationDelivery, string, error) {
	f.Limit = pageLimit(f.Page)
	return listPage(ctx, s, "list notification deliveries", f.Limit, scanDelivery, func(d *tenantry.NotificationDelivery) string { return d.ID },
		`SELECT `+deliveryColumns+` FROM core.notification_deliveries d WHERE d.partner_id = $1
		AND ($2 = '' OR d.endpoint_id = $2) AND ($3 = '' OR d.status = $3) AND d.id > $4 ORDER BY d.id LIMIT $5`,
		partnerID, f.EndpointID, f.Status, f.Cursor, f.Limit+1)
}

// NotificationDelivery returns delivery id of partner partnerID with
// every attempt, oldest first. ENOTFOUND if it has none such.
func (s *Store) NotificationDelivery(ctx context.Context, partnerID, id string) (*tenantry.NotificationDelivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM core.notification_deliveries d
		WHERE d.partner_id = $1 AND d.id = $2`, partnerID, id))
	if err != nil {
		return nil, translate(err, "notification delivery "+id)
	}
	rows, err := s.pool.Query(ctx, `SELECT at, status_code, error, duration_ms FROM core.notification_attempts
		WHERE delivery_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("delivery attempts: %w", err)
	}
	d.AttemptLog, err = pgx.CollectRows(rows, pgx.RowToStructByPos[tenantry.NotificationAttempt])
	return d, err
}

// RetryNotificationDelivery makes delivery id due now: one more attempt
// for a failed delivery, an earlier one for a pending one. ENOTFOUND if
// partnerID has no such delivery; ECONFLICT if it succeeded or its
// endpoint is disabled or deleted.
func (s *Store) RetryNotificationDelivery(ctx context.Context, partnerID, id string) (*tenantry.NotificationDelivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `UPDATE core.notification_deliveries d SET status = 'pending',
		next_attempt_at = now(), updated_at = now() FROM core.notification_endpoints e
		WHERE e.id = d.endpoint_id AND e.status = 'active' AND e.deleted_at IS NULL
		AND d.partner_id = $1 AND d.id = $2 AND d.status <> 'succeeded' RETURNING `+deliveryColumns, partnerID, id))
	if err == nil {
		return d, nil
	}
	if _, getErr := s.NotificationDelivery(ctx, partnerID, id); getErr != nil {
		return nil, getErr
	}
	if tenantry.ErrorCode(translate(err, "")) == tenantry.ENOTFOUND {
		return nil, tenantry.Errorf(tenantry.ECONFLICT, "delivery %s succeeded, or its endpoint is disabled or deleted", id)
	}
	return nil, translate(err, "notification delivery "+id)
}
