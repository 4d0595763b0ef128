package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// ProvisionSubaccount applies provisioning job id: it creates the
// subaccount's schema and NOLOGIN role, marks it active and the job
// succeeded, all in one transaction. (The login role tenant SQL connects
// as is made on first use: EnsureTenantLogin.) On redelivery of a finished job it
// does nothing. It returns the messages to publish.
func (s *Store) ProvisionSubaccount(ctx context.Context, jobID string) ([]tenantry.Message, error) {
	return s.finishJob(ctx, jobID, tenantry.JobSucceeded, "", func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error) {
		schema, err := lockAccount(ctx, tx, j.AccountID, tenantry.SubaccountProvisioning)
		if err != nil {
			return nil, err
		}
		if err := execAll(ctx, tx, ProvisionDDL(schema)); err != nil {
			return nil, fmt.Errorf("provision %s: %w", schema, err)
		}
		if err := setAccountStatus(ctx, tx, j, tenantry.SubaccountActive, "provisioned"); err != nil {
			return nil, err
		}
		return []tenantry.Message{newEvent(j, tenantry.EventSubaccountProvisioned)}, nil
	})
}

// ProvisionDDL is the DDL that gives a tenant its warehouse: a schema
// and a NOLOGIN role, both named schema, the role able to use (and read
// the tables of) its schema and nothing else; tenantry's own user may
// SET ROLE to it. Exported for the benchmark's DDL baseline.
func ProvisionDDL(schema string) []string {
	ident := pgx.Identifier{schema}.Sanitize()
	return []string{
		`CREATE ROLE ` + ident + ` NOLOGIN NOINHERIT`,
		`GRANT ` + ident + ` TO CURRENT_USER`,
		`CREATE SCHEMA ` + ident,
		`REVOKE ALL ON SCHEMA ` + ident + ` FROM PUBLIC`,
		`GRANT USAGE ON SCHEMA ` + ident + ` TO ` + ident,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA ` + ident + ` GRANT SELECT ON TABLES TO ` + ident,
	}
}

// TenantLogin is the credential of a tenant's SQL login role: the
// SCRAM verifier Postgres stores, and the password sealed for tenantry.
type TenantLogin struct {
	Verifier string // "SCRAM-SHA-256$…": never the password itself in DDL (or its logs)
	Sealed   []byte
}

// LoginRole names the role tenant SQL logs in as: a member of the
// tenant's role and nothing else, so even a query that changes its role
// (set_config('role', …)) can only become itself or its tenant.
func LoginRole(schema string) string { return schema + "_sql" }

func loginDDL(schema, verifier string) []string {
	login := pgx.Identifier{LoginRole(schema)}.Sanitize()
	return []string{
		`CREATE ROLE ` + login + ` LOGIN NOINHERIT CONNECTION LIMIT 5 PASSWORD '` + strings.ReplaceAll(verifier, "'", "") + `'`,
		`GRANT ` + pgx.Identifier{schema}.Sanitize() + ` TO ` + login,
	}
}

// EnsureTenantLogin returns what tenant SQL needs to connect for an
// active account: its schema and its login role's sealed password,
// creating the login role with newLogin on first use (the account row is
// locked, so concurrent first uses create it once). Provisioning does not
// pay for it: most accounts may never run SQL. EFORBIDDEN if the account
// has no warehouse.
func (s *Store) EnsureTenantLogin(ctx context.Context, accountID string, newLogin func() (TenantLogin, error)) (schema string, sealed []byte, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT schema_name, sql_password FROM core.accounts
			WHERE id = $1 AND status = 'active' FOR UPDATE`, accountID).Scan(&schema, &sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			return tenantry.Errorf(tenantry.EFORBIDDEN, "the account's warehouse is not ready")
		}
		if err != nil || sealed != nil {
			return translate(err, "account")
		}
		login, err := newLogin()
		if err != nil {
			return err
		}
		if err := execAll(ctx, tx, loginDDL(schema, login.Verifier)); err != nil {
			return fmt.Errorf("create sql login for %s: %w", schema, err)
		}
		sealed = login.Sealed
		_, err = tx.Exec(ctx, `UPDATE core.accounts SET sql_password = $2 WHERE id = $1`, accountID, sealed)
		return translate(err, "account")
	})
	return schema, sealed, err
}

// DeprovisionSubaccount applies deletion job id: it drops the
// subaccount's schema and role, revokes its tokens and marks it deleted,
// in one transaction. On redelivery of a finished job it does nothing.
func (s *Store) DeprovisionSubaccount(ctx context.Context, jobID string) ([]tenantry.Message, error) {
	return s.finishJob(ctx, jobID, tenantry.JobSucceeded, "", func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error) {
		schema, err := lockAccount(ctx, tx, j.AccountID, tenantry.SubaccountDeprovisioning)
		if err != nil {
			return nil, err
		}
		ident := pgx.Identifier{schema}.Sanitize()
		ddl := []string{`DROP SCHEMA IF EXISTS ` + ident + ` CASCADE`}
		var roleExists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, schema).Scan(&roleExists); err != nil {
			return nil, fmt.Errorf("look up role: %w", err)
		}
		var loginExists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, LoginRole(schema)).Scan(&loginExists); err != nil {
			return nil, fmt.Errorf("look up login role: %w", err)
		}
		login := pgx.Identifier{LoginRole(schema)}.Sanitize()
		if loginExists {
			ddl = append(ddl, `DROP OWNED BY `+login, `DROP ROLE `+login)
		}
		if roleExists {
			ddl = append(ddl, `DROP OWNED BY `+ident, `DROP ROLE `+ident)
		}
		if err := execAll(ctx, tx, ddl); err != nil {
			return nil, fmt.Errorf("deprovision %s: %w", schema, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE core.tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL`, j.AccountID); err != nil {
			return nil, fmt.Errorf("revoke account tokens: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE core.accounts SET deleted_at = now(), sql_password = NULL WHERE id = $1`, j.AccountID); err != nil {
			return nil, fmt.Errorf("mark deleted: %w", err)
		}
		if err := setAccountStatus(ctx, tx, j, tenantry.SubaccountDeleted, "deleted"); err != nil {
			return nil, err
		}
		return []tenantry.Message{newEvent(j, tenantry.EventSubaccountDeleted)}, nil
	})
}

// rollbackSubaccount undoes what a failed subaccount job started: a
// provisioning leaves the subaccount failed with the reason; a deletion
// returns it to the status it had before (kept in the job's payload).
func rollbackSubaccount(ctx context.Context, tx pgx.Tx, j *tenantry.Job, reason string) ([]tenantry.Message, error) {
	var err error
	switch j.Kind {
	case tenantry.KindProvision:
		_, err = tx.Exec(ctx, `UPDATE core.accounts SET status = 'failed', status_reason = $2, updated_at = now()
			WHERE id = $1 AND status = 'provisioning'`, j.AccountID, reason)
	case tenantry.KindDeprovision:
		_, err = tx.Exec(ctx, `UPDATE core.accounts SET status_reason = $2, updated_at = now(),
			status = coalesce((SELECT payload->>'previous_status' FROM core.jobs WHERE id = $3), 'active')
			WHERE id = $1 AND status = 'deprovisioning'`, j.AccountID, "deletion failed: "+reason, j.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("roll back subaccount %s: %w", j.AccountID, err)
	}
	return nil, nil
}

// lockAccount locks the job's account and returns its schema name. The
// account must be in status want; anything else is a permanent conflict.
func lockAccount(ctx context.Context, tx pgx.Tx, id, want string) (string, error) {
	var schema, status string
	err := tx.QueryRow(ctx, `SELECT schema_name, status FROM core.accounts WHERE id = $1 FOR UPDATE`, id).Scan(&schema, &status)
	if err != nil {
		return "", translate(err, "subaccount "+id)
	}
	if status != want {
		return "", tenantry.Errorf(tenantry.ECONFLICT, "subaccount %s is %s, not %s", id, status, want)
	}
	return schema, nil
}

// setAccountStatus sets the job's account status and records the applied
// effect in the audit log, in tx.
func setAccountStatus(ctx context.Context, tx pgx.Tx, j *tenantry.Job, status, action string) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.accounts SET status = $2, status_reason = '', updated_at = now() WHERE id = $1`, j.AccountID, status)
	b.Queue(`INSERT INTO core.audit_log (partner_id, account_id, action, job_id) VALUES ($1, $2, $3, $4)`,
		j.PartnerID, j.AccountID, "subaccount."+action, j.ID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("set subaccount status: %w", err)
	}
	return nil
}

// execAll runs stmts in one round trip, stopping at the first error.
func execAll(ctx context.Context, tx pgx.Tx, stmts []string) error {
	b := &pgx.Batch{}
	for _, q := range stmts {
		b.Queue(q)
	}
	return tx.SendBatch(ctx, b).Close()
}
