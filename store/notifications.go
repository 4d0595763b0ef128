package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// NotificationSecretAAD binds a sealed endpoint secret to its endpoint.
func NotificationSecretAAD(endpointID string) []byte {
	return []byte("notification_endpoint:" + endpointID)
}

const endpointColumns = `id, partner_id, url, events, status, status_reason, created_at, updated_at`

func scanEndpoint(row pgx.Row) (*tenantry.NotificationEndpoint, error) {
	e := &tenantry.NotificationEndpoint{}
	err := row.Scan(&e.ID, &e.PartnerID, &e.URL, &e.Events, &e.Status, &e.StatusReason, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// NewEndpointID returns the id of an endpoint about to be created: the
// AAD of its sealed secret needs it first.
func NewEndpointID() string { return NewID("nep") }

// CreateNotificationEndpoint stores e (its ID from NewEndpointID) with
// its sealed secret, active.
func (s *Store) CreateNotificationEndpoint(ctx context.Context, e *tenantry.NotificationEndpoint, sealed []byte) error {
	e.Status = tenantry.EndpointActive
	err := s.pool.QueryRow(ctx, `INSERT INTO core.notification_endpoints (id, partner_id, url, events, secret)
		VALUES ($1, $2, $3, $4, $5) RETURNING created_at, updated_at`, e.ID, e.PartnerID, e.URL, e.Events, sealed).
		Scan(&e.CreatedAt, &e.UpdatedAt)
	return translate(err, "notification endpoint")
}

// NotificationEndpoint returns endpoint id of partner partnerID;
// ENOTFOUND if it has none such (or it was deleted).
func (s *Store) NotificationEndpoint(ctx context.Context, partnerID, id string) (*tenantry.NotificationEndpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM core.notification_endpoints
		WHERE partner_id = $1 AND id = $2 AND deleted_at IS NULL`, partnerID, id))
	if err != nil {
		return nil, translate(err, "notification endpoint "+id)
	}
	return e, nil
}

// NotificationEndpoints lists partner partnerID's endpoints, oldest
// first.
func (s *Store) NotificationEndpoints(ctx context.Context, partnerID string, p tenantry.Page) ([]*tenantry.NotificationEndpoint, string, error) {
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list notification endpoints", p.Limit, scanEndpoint, func(e *tenantry.NotificationEndpoint) string { return e.ID },
		`SELECT `+endpointColumns+` FROM core.notification_endpoints WHERE partner_id = $1 AND deleted_at IS NULL AND id > $2
		ORDER BY id LIMIT $3`, partnerID, p.Cursor, p.Limit+1)
}

// EnableNotificationEndpoint makes endpoint id active again, after it
// was disabled by a 410. ENOTFOUND if partnerID has no such endpoint.
func (s *Store) EnableNotificationEndpoint(ctx context.Context, partnerID, id string) (*tenantry.NotificationEndpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `UPDATE core.notification_endpoints SET status = 'active', status_reason = '',
		updated_at = now() WHERE partner_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING `+endpointColumns, partnerID, id))
	if err != nil {
		return nil, translate(err, "notification endpoint "+id)
	}
	return e, nil
}

// DeleteNotificationEndpoint deletes endpoint id (its row stays for its
// deliveries) and fails its pending deliveries, in one transaction.
// ENOTFOUND if partnerID has no such endpoint.
func (s *Store) DeleteNotificationEndpoint(ctx context.Context, partnerID, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE core.notification_endpoints SET deleted_at = now(), updated_at = now(), secret = ''
			WHERE partner_id = $1 AND id = $2 AND deleted_at IS NULL`, partnerID, id)
		if err != nil {
			return fmt.Errorf("delete notification endpoint: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return tenantry.Errorf(tenantry.ENOTFOUND, "notification endpoint %s not found", id)
		}
		_, err = tx.Exec(ctx, `UPDATE core.notification_deliveries SET status = 'failed', next_attempt_at = NULL,
			last_error = 'the endpoint was deleted', updated_at = now() WHERE endpoint_id = $1 AND status = 'pending'`, id)
		return err
	})
}
