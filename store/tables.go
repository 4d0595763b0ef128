package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const tableColumns = `id, partner_id, account_id, name, query, created_at, updated_at`

func scanTable(row pgx.Row) (*tenantry.QueryTable, error) {
	t := &tenantry.QueryTable{}
	err := row.Scan(&t.ID, &t.PartnerID, &t.AccountID, &t.Name, &t.Query, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// tableScope limits query tables to the caller's: an end-customer its
// account's, a partner its subaccounts'.
const tableScope = `partner_id = $1 AND ($2 = '' OR account_id = $2)`

// CreateTable stores a query table for the caller's account (t.ID set
// here). ECONFLICT if the account already has one of that name.
func (s *Store) CreateTable(ctx context.Context, c tenantry.Caller, t *tenantry.QueryTable) error {
	t.ID, t.PartnerID, t.AccountID = NewID("tbl"), c.PartnerID, c.AccountID
	err := s.pool.QueryRow(ctx, `INSERT INTO core.query_tables (id, partner_id, account_id, name, query)
		VALUES ($1, $2, $3, $4, $5) RETURNING created_at, updated_at`, t.ID, t.PartnerID, t.AccountID, t.Name, t.Query).
		Scan(&t.CreatedAt, &t.UpdatedAt)
	if tenantry.ErrorCode(translate(err, "")) == tenantry.ECONFLICT {
		return &tenantry.Error{Code: tenantry.ECONFLICT, Message: fmt.Sprintf("a table named %q already exists", t.Name),
			Fields: []tenantry.FieldError{{Field: "name", Message: "already in use"}}}
	}
	return translate(err, "table")
}

// Table returns query table id if c may see it; ENOTFOUND if not.
func (s *Store) Table(ctx context.Context, c tenantry.Caller, id string) (*tenantry.QueryTable, error) {
	t, err := scanTable(s.pool.QueryRow(ctx, `SELECT `+tableColumns+` FROM core.query_tables
		WHERE `+tableScope+` AND id = $3`, c.PartnerID, c.AccountID, id))
	if err != nil {
		return nil, translate(err, "table "+id)
	}
	return t, nil
}

// Tables lists the query tables c may see, oldest first.
func (s *Store) Tables(ctx context.Context, c tenantry.Caller, p tenantry.Page) ([]*tenantry.QueryTable, string, error) {
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list tables", p.Limit, scanTable, func(t *tenantry.QueryTable) string { return t.ID },
		`SELECT `+tableColumns+` FROM core.query_tables
		WHERE `+tableScope+` AND id > $3 ORDER BY id LIMIT $4`, c.PartnerID, c.AccountID, p.Cursor, p.Limit+1)
}

// DeleteTable removes query table id; ENOTFOUND if c may not see it.
func (s *Store) DeleteTable(ctx context.Context, c tenantry.Caller, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM core.query_tables WHERE `+tableScope+` AND id = $3`, c.PartnerID, c.AccountID, id)
	if err != nil {
		return translate(err, "table "+id)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "table %s not found", id)
	}
	return nil
}
