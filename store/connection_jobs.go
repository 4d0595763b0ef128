package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// ConnectionState is a connection with what workers need to act on it.
type ConnectionState struct {
	*tenantry.Connection
	Secrets        []byte // sealed; nil if none
	TokenExpiresAt *time.Time
	RefreshedAt    *time.Time
}

// ConnectionOutcome is what a job or a refresh decided about a
// connection. Empty Status keeps the status; nil Secrets keeps them.
type ConnectionOutcome struct {
	Status         string
	Reason         string
	Secrets        []byte
	TokenExpiresAt *time.Time
	Refreshed      bool // the tokens were refreshed just now
	Checked        bool // a credential check ran just now
	Level, Log     string
}

const stateColumns = connectionColumns + `, secrets, token_expires_at, refreshed_at`

func scanState(row pgx.Row) (*ConnectionState, error) {
	c := &tenantry.Connection{}
	st := &ConnectionState{Connection: c}
	err := row.Scan(&c.ID, &c.PartnerID, &c.AccountID, &c.ServerTypeID, &c.Name, &c.Status, &c.StatusReason,
		&c.Fields, &c.LastCheckedAt, &c.CreatedAt, &c.UpdatedAt, &st.Secrets, &st.TokenExpiresAt, &st.RefreshedAt)
	return st, err
}

// ConnectionState returns connection id for a worker acting on its
// tenant's behalf (the job names the tenant). ENOTFOUND once deleted.
func (s *Store) ConnectionState(ctx context.Context, id string) (*ConnectionState, error) {
	st, err := scanState(s.pool.QueryRow(ctx, `SELECT `+stateColumns+` FROM core.connections
		WHERE id = $1 AND deleted_at IS NULL`, id))
	if err != nil {
		return nil, translate(err, "connection "+id)
	}
	return st, nil
}

// FinishConnectionJob applies o to connection connID and finishes job
// jobID in one transaction: succeeded, or failed with o.Reason when the
// connection ends in error or needs_reauth. A status change emits its
// event. A redelivery of a finished job changes nothing.
func (s *Store) FinishConnectionJob(ctx context.Context, jobID, connID string, o ConnectionOutcome) ([]tenantry.Message, error) {
	status, msg := tenantry.JobSucceeded, ""
	if o.Status == tenantry.ConnError || o.Status == tenantry.ConnNeedsReauth {
		status, msg = tenantry.JobFailed, o.Reason
	}
	return s.finishJob(ctx, jobID, status, msg, func(tx pgx.Tx, j *tenantry.Job) ([]tenantry.Message, error) {
		return applyOutcome(ctx, tx, connID, j.ID, o)
	})
}

// RefreshTokens runs fn with connection id locked (SELECT … FOR UPDATE):
// one refresher at a time across every worker, and whoever waited sees
// the tokens the first one stored. fn's outcome (nil: nothing to do) is
// committed before RefreshTokens returns, so a rotated refresh token is
// persisted before the new access token is used.
func (s *Store) RefreshTokens(ctx context.Context, id, jobID string,
	fn func(st *ConnectionState) (*ConnectionOutcome, error)) ([]tenantry.Message, error) {
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		st, err := scanState(tx.QueryRow(ctx, `SELECT `+stateColumns+` FROM core.connections
			WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id))
		if err != nil {
			return translate(err, "connection "+id)
		}
		o, err := fn(st)
		if err != nil || o == nil {
			return err
		}
		if msgs, err = applyOutcome(ctx, tx, id, jobID, *o); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, msgs)
	})
	return msgs, err
}

// applyOutcome writes o to the connection and its log inside tx, and
// returns the event of a status change for the caller to write to the
// outbox (finishJob does it for jobs).
func applyOutcome(ctx context.Context, tx pgx.Tx, id, jobID string, o ConnectionOutcome) ([]tenantry.Message, error) {
	var before string
	err := tx.QueryRow(ctx, `SELECT status FROM core.connections WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&before)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil // deleted meanwhile: its secrets stay erased, no events
	}
	if err != nil {
		return nil, translate(err, "connection "+id)
	}
	o.Reason, o.Log = CleanText(o.Reason, 300), CleanText(o.Log, 1000)
	c, err := scanConnection(tx.QueryRow(ctx, `UPDATE core.connections SET
		status = coalesce(nullif($2, ''), status),
		status_reason = CASE WHEN $2 = '' THEN status_reason ELSE $3 END,
		secrets = coalesce($4, secrets), token_expires_at = coalesce($5, token_expires_at),
		refreshed_at = CASE WHEN $6 THEN now() ELSE refreshed_at END,
		last_checked_at = CASE WHEN $7 THEN now() ELSE last_checked_at END, updated_at = now()
		WHERE id = $1 RETURNING `+connectionColumns, id, o.Status, o.Reason, o.Secrets, o.TokenExpiresAt, o.Refreshed, o.Checked))
	if err != nil {
		return nil, translate(err, "connection "+id)
	}
	b := &pgx.Batch{}
	if o.Log != "" {
		queueLog(b, c, o.Level, o.Log, jobID)
	}
	var msgs []tenantry.Message
	if c.Status != before {
		msgs = append(msgs, connectionEvent(c, statusEvent(c.Status), jobID))
	}
	return msgs, tx.SendBatch(ctx, b).Close()
}

// writeOutbox writes msgs to the outbox in tx.
func writeOutbox(ctx context.Context, tx pgx.Tx, msgs []tenantry.Message) error {
	b := &pgx.Batch{}
	queueOutbox(b, msgs...)
	return tx.SendBatch(ctx, b).Close()
}

// statusEvent names the event a connection emits on entering status.
func statusEvent(status string) string {
	if status == tenantry.ConnActive {
		return "server.connected"
	}
	return "server." + status
}

// CompleteJob finishes job id with status and msg and no other effect;
// a finished job is left as it is.
func (s *Store) CompleteJob(ctx context.Context, id, status, msg string) error {
	_, err := s.finishJob(ctx, id, status, msg, func(pgx.Tx, *tenantry.Job) ([]tenantry.Message, error) { return nil, nil })
	return err
}

// EnqueueRefreshes queues a refresh job for each OAuth connection (active
// or degraded) whose token expires before before, or that was last
// refreshed more than every ago, unless one is already queued or running
// or the token has lived less than half its life (tokens shorter-lived
// than the margin are not refreshed on every scan). It returns the
// commands to publish.
func (s *Store) EnqueueRefreshes(ctx context.Context, before time.Time, every time.Duration, limit int) ([]tenantry.Message, error) {
	return s.enqueueForConnections(ctx, tenantry.KindConnectionRefresh, `token_expires_at IS NOT NULL AND (
		(token_expires_at < $1 AND (refreshed_at IS NULL OR now() > refreshed_at + (token_expires_at - refreshed_at) / 2))
		OR coalesce(refreshed_at, created_at) < now() - $2::interval)`, limit, before, every)
}

// EnqueueChecks queues a credential check for each active or degraded
// connection not checked for every, so a connection that died quietly
// (revoked key, deleted app) is found out. It returns the commands to
// publish.
func (s *Store) EnqueueChecks(ctx context.Context, every time.Duration, limit int) ([]tenantry.Message, error) {
	return s.enqueueForConnections(ctx, tenantry.KindConnectionCheck,
		`coalesce(last_checked_at, created_at) < now() - $1::interval`, limit, every)
}

// enqueueForConnections queues a kind job for each active or degraded
// connection matching cond (whose $1… are args) that has no such job
// queued or running yet.
func (s *Store) enqueueForConnections(ctx context.Context, kind, cond string, limit int, args ...any) ([]tenantry.Message, error) {
	n := len(args)
	q := fmt.Sprintf(`SELECT id, partner_id, account_id FROM core.connections c
		WHERE deleted_at IS NULL AND status IN ('active', 'degraded') AND (%s)
		  AND NOT EXISTS (SELECT 1 FROM core.jobs j WHERE j.status IN ('queued', 'running')
		      AND j.payload->>'connection_id' = c.id AND j.kind = $%d)
		ORDER BY id LIMIT $%d FOR UPDATE SKIP LOCKED`, cond, n+1, n+2)
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, append(args, kind, limit)...)
		if err != nil {
			return fmt.Errorf("due %s: %w", kind, err)
		}
		due, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ ID, Partner, Account string }])
		if err != nil {
			return fmt.Errorf("due %s: %w", kind, err)
		}
		b := &pgx.Batch{}
		for _, c := range due {
			cmd := &tenantry.Command{Kind: kind, PartnerID: c.Partner, AccountID: c.Account}
			cmd.Payload, _ = json.Marshal(map[string]string{"connection_id": c.ID})
			queueJob(b, cmd)
			msgs = append(msgs, cmd.Message())
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return msgs, err
}

// rollbackConnection records the final failure of a connection job: a
// connection still being set up ends in error; a working one is degraded.
// A status set by the job itself (needs_reauth) is kept.
func rollbackConnection(ctx context.Context, tx pgx.Tx, j *tenantry.Job, reason string) ([]tenantry.Message, error) {
	var connID string
	err := tx.QueryRow(ctx, `SELECT coalesce(payload->>'connection_id', '') FROM core.jobs WHERE id = $1`, j.ID).Scan(&connID)
	if err != nil || connID == "" {
		return nil, translate(err, "job "+j.ID)
	}
	status := map[string]string{tenantry.ConnPending: tenantry.ConnError, tenantry.ConnOAuthPending: tenantry.ConnError,
		tenantry.ConnActive: tenantry.ConnDegraded, tenantry.ConnDegraded: tenantry.ConnDegraded}
	var cur string
	err = tx.QueryRow(ctx, `SELECT status FROM core.connections WHERE id = $1 AND deleted_at IS NULL`, connID).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil // deleted meanwhile
	}
	if err != nil {
		return nil, translate(err, "connection "+connID)
	}
	next, ok := status[cur]
	if !ok {
		return nil, nil
	}
	return applyOutcome(ctx, tx, connID, j.ID, ConnectionOutcome{Status: next, Reason: reason, Level: "error", Log: reason})
}

// CleanText makes text from providers safe to store and show: valid
// UTF-8, no control characters, at most n runes.
func CleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
