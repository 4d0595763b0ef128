package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const interfaceColumns = `id, partner_id, account_id, name, raw_code, schedule, next_run_at, created_at, updated_at`

func scanInterface(row pgx.Row) (*tenantry.Interface, error) {
	i := &tenantry.Interface{}
	err := row.Scan(&i.ID, &i.PartnerID, &i.AccountID, &i.Name, &i.RawCode, &i.Schedule, &i.NextRunAt, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

// interfaceScope limits interfaces to the caller's: an end-customer its
// account's, a partner its subaccounts'.
const interfaceScope = `partner_id = $1 AND ($2 = '' OR account_id = $2) AND deleted_at IS NULL`

// CreateInterface stores an interface for the caller's account (i.ID set
// here). ECONFLICT naming "name" if the account has one of that name.
func (s *Store) CreateInterface(ctx context.Context, c tenantry.Caller, i *tenantry.Interface) error {
	i.ID, i.PartnerID, i.AccountID = NewID("ifc"), c.PartnerID, c.AccountID
	err := s.pool.QueryRow(ctx, `INSERT INTO core.interfaces (id, partner_id, account_id, name, raw_code, schedule, next_run_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at, updated_at`,
		i.ID, i.PartnerID, i.AccountID, i.Name, i.RawCode, i.Schedule, i.NextRunAt).Scan(&i.CreatedAt, &i.UpdatedAt)
	return interfaceError(err, i.Name)
}

// interfaceError translates a write's error; a taken name is a conflict
// on the field.
func interfaceError(err error, name string) error {
	if tenantry.ErrorCode(translate(err, "")) == tenantry.ECONFLICT {
		return &tenantry.Error{Code: tenantry.ECONFLICT, Message: fmt.Sprintf("an interface named %q already exists", name),
			Fields: []tenantry.FieldError{{Field: "name", Message: "already in use"}}}
	}
	return translate(err, "interface")
}

// Interface returns interface id if c may see it; ENOTFOUND if not.
func (s *Store) Interface(ctx context.Context, c tenantry.Caller, id string) (*tenantry.Interface, error) {
	i, err := scanInterface(s.pool.QueryRow(ctx, `SELECT `+interfaceColumns+` FROM core.interfaces
		WHERE `+interfaceScope+` AND id = $3`, c.PartnerID, c.AccountID, id))
	if err != nil {
		return nil, translate(err, "interface "+id)
	}
	return i, nil
}

// Interfaces lists the interfaces c may see, oldest first.
func (s *Store) Interfaces(ctx context.Context, c tenantry.Caller, p tenantry.Page) ([]*tenantry.Interface, string, error) {
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list interfaces", p.Limit, scanInterface, func(i *tenantry.Interface) string { return i.ID },
		`SELECT `+interfaceColumns+` FROM core.interfaces
		WHERE `+interfaceScope+` AND id > $3 ORDER BY id LIMIT $4`, c.PartnerID, c.AccountID, p.Cursor, p.Limit+1)
}

// UpdateInterface applies the fields given to interface id. A new
// Schedule replaces the schedule and its NextRunAt together. ENOTFOUND if
// c may not see it; ECONFLICT if the new name is taken.
func (s *Store) UpdateInterface(ctx context.Context, c tenantry.Caller, id string, f tenantry.InterfaceFields) (*tenantry.Interface, error) {
	i, err := scanInterface(s.pool.QueryRow(ctx, `UPDATE core.interfaces SET name = coalesce($4, name),
		raw_code = coalesce($5, raw_code), schedule = coalesce($6, schedule),
		next_run_at = CASE WHEN $6::text IS NULL THEN next_run_at ELSE $7 END, updated_at = now()
		WHERE `+interfaceScope+` AND id = $3 RETURNING `+interfaceColumns,
		c.PartnerID, c.AccountID, id, f.Name, f.RawCode, f.Schedule, f.NextRunAt))
	if err != nil {
		name := ""
		if f.Name != nil {
			name = *f.Name
		}
		return nil, interfaceError(err, name)
	}
	return i, nil
}

// DeleteInterface removes interface id: it is no longer scheduled or
// shown; its runs are kept. ENOTFOUND if c may not see it.
func (s *Store) DeleteInterface(ctx context.Context, c tenantry.Caller, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE core.interfaces SET deleted_at = now(), next_run_at = NULL, updated_at = now()
		WHERE `+interfaceScope+` AND id = $3`, c.PartnerID, c.AccountID, id)
	if err != nil {
		return translate(err, "interface "+id)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "interface %s not found", id)
	}
	return nil
}
