package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// SetWebhookHandler makes interface interfaceID handle the webhooks of
// account accountID of partner partnerID; "" removes the account's
// handler. EINVALID naming handler_interface_id if the interface is not
// a live one of the account's.
func (s *Store) SetWebhookHandler(ctx context.Context, partnerID, accountID, interfaceID string) error {
	if interfaceID == "" {
		_, err := s.pool.Exec(ctx, `DELETE FROM core.webhook_handlers WHERE account_id = $1 AND partner_id = $2`,
			accountID, partnerID)
		return translate(err, "webhook handler")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO core.webhook_handlers (account_id, partner_id, interface_id)
		SELECT account_id, partner_id, id FROM core.interfaces
		WHERE id = $3 AND account_id = $1 AND partner_id = $2 AND deleted_at IS NULL
		ON CONFLICT (account_id) DO UPDATE SET interface_id = EXCLUDED.interface_id, updated_at = now()`,
		accountID, partnerID, interfaceID)
	if err != nil {
		return translate(err, "webhook handler")
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Invalid(tenantry.FieldError{Field: "handler_interface_id", Message: "is not an interface of this account"})
	}
	return nil
}

// WebhookHandlerID returns the id of the interface that handles account
// accountID's webhooks; "" when the account has none (or deleted it).
func (s *Store) WebhookHandlerID(ctx context.Context, accountID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT i.id `+handlerJoin+` WHERE h.account_id = $1`, accountID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, translate(err, "webhook handler")
}

// handlerJoin finds an account's live handler interface: its own, not
// deleted, of a live account.
const handlerJoin = `FROM core.webhook_handlers h
		JOIN core.interfaces i ON i.id = h.interface_id AND i.account_id = h.account_id AND i.deleted_at IS NULL
		JOIN core.accounts a ON a.id = h.account_id AND ` + liveAccount

// WebhookHandlerScript returns the interface that handles account
// accountID's webhooks and its code, as it is now. ENOTFOUND when the
// account has none, its interface was deleted (or is not the account's),
// or the account is deleted or being deleted: a webhook still in flight,
// replayed or redriven for it then runs nothing.
func (s *Store) WebhookHandlerScript(ctx context.Context, accountID string) (interfaceID, code string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT i.id, i.raw_code `+handlerJoin+` WHERE h.account_id = $1`, accountID).Scan(&interfaceID, &code)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", tenantry.Errorf(tenantry.ENOTFOUND, "account %s has no webhook handler", accountID)
	}
	return interfaceID, code, translate(err, "webhook handler")
}

// WebhookRun is one run of an account's webhook handler on webhook event
// EventID, recorded with the event's outcome by FinishWebhook.
type WebhookRun struct {
	ID, EventID, InterfaceID, PartnerID, AccountID string
	Outcome                                        RunOutcome // Result is what handler returned
	StartedAt, FinishedAt                          time.Time
}

// WebhookRunSucceeded reports whether run runID of a webhook handler
// succeeded; false for no run ("") or an unknown one.
func (s *Store) WebhookRunSucceeded(ctx context.Context, runID string) (bool, error) {
	if runID == "" {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM core.script_runs WHERE id = $1 AND status = $2)`,
		runID, tenantry.JobSucceeded).Scan(&ok)
	return ok, translate(err, "webhook run "+runID)
}

// queueWebhookRun queues the insert of run as a script run with trigger
// "webhook" and no job, linked to its event.
func queueWebhookRun(b *pgx.Batch, run *WebhookRun) {
	o, status := run.Outcome, tenantry.JobSucceeded
	if o.Error != nil {
		status = tenantry.JobFailed
	}
	b.Queue(`INSERT INTO core.script_runs (id, interface_id, partner_id, account_id, job_id, trigger, webhook_event_id,
			status, log, result, error, steps, duration_ms, created_at, started_at, finished_at)
		VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)`,
		run.ID, run.InterfaceID, run.PartnerID, run.AccountID, tenantry.TriggerWebhook, run.EventID, status,
		validText(tailText(o.Log, maxRunLog)), nullJSON(o.Result), o.Error, o.Steps, o.DurationMS, run.StartedAt, run.FinishedAt)
}
