package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const subaccountColumns = `id, partner_id, external_id, first_name, last_name, email, language,
	company_name, status, status_reason, schema_name, created_at, updated_at`

func scanSubaccount(row pgx.Row) (*tenantry.Subaccount, error) {
	a := &tenantry.Subaccount{}
	err := row.Scan(&a.ID, &a.PartnerID, &a.ExternalID, &a.FirstName, &a.LastName, &a.Email, &a.Language,
		&a.CompanyName, &a.Status, &a.StatusReason, &a.Schema, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// callerScope is the WHERE clause that limits accounts to what c may see:
// a partner its own subaccounts, an end-customer only its own account.
const callerScope = `partner_id = $1 AND ($2 = '' OR id = $2) AND deleted_at IS NULL`

// CreateSubaccount inserts a (status provisioning, id and schema set here)
// together with its provisioning job and command, atomically.
// ECONFLICT if the partner already has a live subaccount with that
// external_id.
func (s *Store) CreateSubaccount(ctx context.Context, a *tenantry.Subaccount, cmd *tenantry.Command) error {
	a.ID = NewID("sub")
	a.Schema = "t_" + a.ID[len("sub_"):]
	a.Status = tenantry.SubaccountProvisioning
	cmd.AccountID, cmd.PartnerID = a.ID, a.PartnerID
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO core.accounts (id, partner_id, external_id, first_name, last_name,
		email, language, company_name, status, schema_name) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		RETURNING created_at, updated_at`,
		a.ID, a.PartnerID, a.ExternalID, a.FirstName, a.LastName, a.Email, a.Language, a.CompanyName,
		a.Status, a.Schema).QueryRow(func(row pgx.Row) error { return row.Scan(&a.CreatedAt, &a.UpdatedAt) })
	queueJob(b, cmd)
	// A batch runs as one implicit transaction: all three rows or none,
	// in one round trip.
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return externalIDConflict(translate(err, "subaccount"), a.ExternalID)
	}
	return nil
}

func externalIDConflict(err error, externalID string) error {
	if tenantry.ErrorCode(err) != tenantry.ECONFLICT {
		return err
	}
	return &tenantry.Error{Code: tenantry.ECONFLICT,
		Message: fmt.Sprintf("a subaccount with external_id %q already exists", externalID),
		Fields:  []tenantry.FieldError{{Field: "external_id", Message: "already in use"}}}
}

// Subaccount returns the subaccount id if c may see it; ENOTFOUND if not.
func (s *Store) Subaccount(ctx context.Context, c tenantry.Caller, id string) (*tenantry.Subaccount, error) {
	a, err := scanSubaccount(s.pool.QueryRow(ctx, `SELECT `+subaccountColumns+` FROM core.accounts
		WHERE `+callerScope+` AND id = $3`, c.PartnerID, c.AccountID, id))
	if err != nil {
		return nil, translate(err, "subaccount "+id)
	}
	return a, nil
}

// Subaccounts lists the subaccounts c may see, in creation order, and
// returns the cursor of the next page ("" on the last).
func (s *Store) Subaccounts(ctx context.Context, c tenantry.Caller, f tenantry.SubaccountFilter) ([]*tenantry.Subaccount, string, error) {
	f.Limit = pageLimit(f.Page)
	return listPage(ctx, s, "list subaccounts", f.Limit, scanSubaccount, func(a *tenantry.Subaccount) string { return a.ID },
		`SELECT `+subaccountColumns+` FROM core.accounts
		WHERE `+callerScope+` AND ($3 = '' OR external_id = $3) AND id > $4
		ORDER BY id LIMIT $5`, c.PartnerID, c.AccountID, f.ExternalID, f.Cursor, f.Limit+1)
}

// UpdateSubaccount sets the given fields of subaccount id. ENOTFOUND if c
// may not see it, ECONFLICT if a new external_id is taken.
func (s *Store) UpdateSubaccount(ctx context.Context, c tenantry.Caller, id string, f tenantry.SubaccountFields) (*tenantry.Subaccount, error) {
	a, err := scanSubaccount(s.pool.QueryRow(ctx, `UPDATE core.accounts SET
		external_id = coalesce($4, external_id), first_name = coalesce($5, first_name),
		last_name = coalesce($6, last_name), email = coalesce($7, email),
		language = coalesce($8, language), company_name = coalesce($9, company_name), updated_at = now()
		WHERE `+callerScope+` AND id = $3 RETURNING `+subaccountColumns,
		c.PartnerID, c.AccountID, id, f.ExternalID, f.FirstName, f.LastName, f.Email, f.Language, f.CompanyName))
	if err != nil {
		ext := ""
		if f.ExternalID != nil {
			ext = *f.ExternalID
		}
		return nil, externalIDConflict(translate(err, "subaccount "+id), ext)
	}
	return a, nil
}

// DeleteSubaccount marks subaccount id deprovisioning and enqueues cmd to
// remove its schema and role, in one transaction. ENOTFOUND if c may not
// see it; ECONFLICT while it is still provisioning or already being
// deleted.
func (s *Store) DeleteSubaccount(ctx context.Context, c tenantry.Caller, id string, cmd *tenantry.Command) (*tenantry.Subaccount, error) {
	var a *tenantry.Subaccount
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = scanSubaccount(tx.QueryRow(ctx, `SELECT `+subaccountColumns+` FROM core.accounts
			WHERE `+callerScope+` AND id = $3 FOR UPDATE`, c.PartnerID, c.AccountID, id))
		if err != nil {
			return translate(err, "subaccount "+id)
		}
		if a.Status != tenantry.SubaccountActive && a.Status != tenantry.SubaccountFailed {
			return tenantry.Errorf(tenantry.ECONFLICT, "subaccount %s is %s; it can be deleted once active or failed", id, a.Status)
		}
		cmd.Payload, _ = json.Marshal(map[string]string{"previous_status": a.Status})
		a.Status = tenantry.SubaccountDeprovisioning
		if _, err := tx.Exec(ctx, `UPDATE core.accounts SET status = $2, updated_at = now() WHERE id = $1`, id, a.Status); err != nil {
			return fmt.Errorf("mark deprovisioning: %w", err)
		}
		cmd.AccountID, cmd.PartnerID = a.ID, a.PartnerID
		b := &pgx.Batch{}
		queueJob(b, cmd)
		return tx.SendBatch(ctx, b).Close()
	})
	return a, err
}

// liveAccount is true of an account (aliased a) that is not deleted or
// being deleted: only its work runs.
const liveAccount = `a.deleted_at IS NULL AND a.status IN ('provisioning', 'active')`

// AccountSchema returns the warehouse schema of live account id, for a
// worker acting on its behalf. ENOTFOUND once the account is deleted or
// being deleted.
func (s *Store) AccountSchema(ctx context.Context, id string) (string, error) {
	var schema string
	err := s.pool.QueryRow(ctx, `SELECT a.schema_name FROM core.accounts a WHERE a.id = $1 AND `+liveAccount, id).Scan(&schema)
	if err != nil {
		return "", translate(err, "account "+id)
	}
	return schema, nil
}
