package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const publishedColumns = `id, partner_id, account_id, interface_id, path, method, auth, created_at`

func scanPublished(row pgx.Row) (*tenantry.Endpoint, error) {
	e := &tenantry.Endpoint{}
	err := row.Scan(&e.ID, &e.PartnerID, &e.AccountID, &e.InterfaceID, &e.Path, &e.Method, &e.Auth, &e.CreatedAt)
	return e, err
}

// publishedScope limits endpoints to the caller's: an end-customer its
// account's, a partner its subaccounts'.
const publishedScope = `partner_id = $1 AND ($2 = '' OR account_id = $2) AND deleted_at IS NULL`

// CreateEndpoint stores e for the caller's account (e.ID set here).
// EINVALID naming interface_id if the interface is not a live one of
// the account's; ECONFLICT naming path if the account already has an
// endpoint for the method and path.
func (s *Store) CreateEndpoint(ctx context.Context, c tenantry.Caller, e *tenantry.Endpoint) error {
	e.ID, e.PartnerID, e.AccountID = NewID("ept"), c.PartnerID, c.AccountID
	err := s.pool.QueryRow(ctx, `INSERT INTO core.endpoints (id, partner_id, account_id, interface_id, path, method, auth)
		SELECT $1, $2, $3, i.id, $5, $6, $7 FROM core.interfaces i
		WHERE i.id = $4 AND i.account_id = $3 AND i.deleted_at IS NULL
		RETURNING created_at`, e.ID, e.PartnerID, e.AccountID, e.InterfaceID, e.Path, e.Method, e.Auth).Scan(&e.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return tenantry.Invalid(tenantry.FieldError{Field: "interface_id", Message: "is not an interface of this account"})
	case tenantry.ErrorCode(translate(err, "")) == tenantry.ECONFLICT:
		return &tenantry.Error{Code: tenantry.ECONFLICT, Message: fmt.Sprintf("%s %s is already published", e.Method, e.Path),
			Fields: []tenantry.FieldError{{Field: "path", Message: "already published for this method"}}}
	}
	return translate(err, "endpoint")
}

// Endpoint returns endpoint id if c may see it; ENOTFOUND if not.
func (s *Store) Endpoint(ctx context.Context, c tenantry.Caller, id string) (*tenantry.Endpoint, error) {
	e, err := scanPublished(s.pool.QueryRow(ctx, `SELECT `+publishedColumns+` FROM core.endpoints
		WHERE `+publishedScope+` AND id = $3`, c.PartnerID, c.AccountID, id))
	if err != nil {
		return nil, translate(err, "endpoint "+id)
	}
	return e, nil
}

// Endpoints lists the endpoints c may see, oldest first.
func (s *Store) Endpoints(ctx context.Context, c tenantry.Caller, p tenantry.Page) ([]*tenantry.Endpoint, string, error) {
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list endpoints", p.Limit, scanPublished, func(e *tenantry.Endpoint) string { return e.ID },
		`SELECT `+publishedColumns+` FROM core.endpoints
		WHERE `+publishedScope+` AND id > $3 ORDER BY id LIMIT $4`, c.PartnerID, c.AccountID, p.Cursor, p.Limit+1)
}

// DeleteEndpoint unpublishes endpoint id and returns it; its runs are
// kept. ENOTFOUND if c may not see it.
func (s *Store) DeleteEndpoint(ctx context.Context, c tenantry.Caller, id string) (*tenantry.Endpoint, error) {
	e, err := scanPublished(s.pool.QueryRow(ctx, `UPDATE core.endpoints SET deleted_at = now()
		WHERE `+publishedScope+` AND id = $3 RETURNING `+publishedColumns, c.PartnerID, c.AccountID, id))
	if err != nil {
		return nil, translate(err, "endpoint "+id)
	}
	return e, nil
}

// EndpointRoute is what the API needs to forward a call to an endpoint.
type EndpointRoute struct {
	ID, PartnerID, InterfaceID, Method, Auth string
	Version                                  time.Time // the interface's updated_at
}

// EndpointRoutes returns the endpoints of account accountID at path, one
// per method, if the account, the endpoints and their interfaces are
// live; none is not an error.
func (s *Store) EndpointRoutes(ctx context.Context, accountID, path string) ([]EndpointRoute, error) {
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.partner_id, e.interface_id, e.method, e.auth, i.updated_at
		FROM core.endpoints e
		JOIN core.interfaces i ON i.id = e.interface_id AND i.deleted_at IS NULL
		JOIN core.accounts a ON a.id = e.account_id AND a.deleted_at IS NULL
		WHERE e.account_id = $1 AND e.path = $2 AND e.deleted_at IS NULL`, accountID, path)
	if err != nil {
		return nil, translate(err, "endpoint routes")
	}
	routes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (r EndpointRoute, err error) {
		err = row.Scan(&r.ID, &r.PartnerID, &r.InterfaceID, &r.Method, &r.Auth, &r.Version)
		return r, err
	})
	return routes, translate(err, "endpoint routes")
}

// EndpointScript returns the code of interface id of account accountID
// and its version (updated_at). ENOTFOUND if it is deleted.
func (s *Store) EndpointScript(ctx context.Context, id, accountID string) (code string, version time.Time, err error) {
	err = s.pool.QueryRow(ctx, `SELECT raw_code, updated_at FROM core.interfaces
		WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL`, id, accountID).Scan(&code, &version)
	return code, version, translate(err, "interface "+id)
}
