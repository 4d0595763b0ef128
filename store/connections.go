package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const connectionColumns = `id, partner_id, account_id, servertype_id, name, status, status_reason, fields,
	last_checked_at, created_at, updated_at`

func scanConnection(row pgx.Row) (*tenantry.Connection, error) {
	c := &tenantry.Connection{}
	err := row.Scan(&c.ID, &c.PartnerID, &c.AccountID, &c.ServerTypeID, &c.Name, &c.Status, &c.StatusReason,
		&c.Fields, &c.LastCheckedAt, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// connScope limits connections to what the caller may see: an end-customer
// its own account's, a partner those of its subaccounts.
const connScope = `partner_id = $1 AND ($2 = '' OR account_id = $2) AND deleted_at IS NULL`

// NewConnectionID returns the id for a connection about to be created;
// callers need it first because it is the AAD of the connection's
// sealed secrets.
func NewConnectionID() string { return NewID("srv") }

// CreateConnection inserts c (its ID from NewConnectionID) with its
// sealed secrets and, atomically with it, either a check job (cmd) or an
// OAuth authorization request (state). The caller is c's account.
func (s *Store) CreateConnection(ctx context.Context, c *tenantry.Connection, secrets []byte,
	cmd *tenantry.Command, state *OAuthState) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO core.connections (id, partner_id, account_id, servertype_id, name, status, fields, secrets)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at, updated_at`,
		c.ID, c.PartnerID, c.AccountID, c.ServerTypeID, c.Name, c.Status, c.Fields, secrets).
		QueryRow(func(row pgx.Row) error { return row.Scan(&c.CreatedAt, &c.UpdatedAt) })
	queueLog(b, c, "info", "connection created ("+c.ServerTypeID+")", "")
	queueStart(b, c, cmd, state)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return translate(err, "connection")
	}
	return nil
}

// queueStart queues what starts a connection's verification: a check job
// or an OAuth authorization request.
func queueStart(b *pgx.Batch, c *tenantry.Connection, cmd *tenantry.Command, state *OAuthState) {
	if cmd != nil {
		cmd.PartnerID, cmd.AccountID = c.PartnerID, c.AccountID
		queueJob(b, cmd)
		queueLog(b, c, "info", "credential check queued", cmd.JobID)
	}
	if state != nil {
		// Only the newest authorization link of a connection works.
		b.Queue(`UPDATE core.oauth_states SET used_at = now() WHERE connection_id = $1 AND used_at IS NULL`, c.ID)
		b.Queue(`INSERT INTO core.oauth_states (state_hash, connection_id, verifier, redirect_uri, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, state.Hash, c.ID, state.Verifier, state.RedirectURI, state.ExpiresAt)
		queueLog(b, c, "info", "OAuth authorization started", "")
	}
}

// Connection returns connection id if caller may see it; ENOTFOUND if not.
func (s *Store) Connection(ctx context.Context, caller tenantry.Caller, id string) (*tenantry.Connection, error) {
	c, err := scanConnection(s.pool.QueryRow(ctx, `SELECT `+connectionColumns+` FROM core.connections
		WHERE `+connScope+` AND id = $3`, caller.PartnerID, caller.AccountID, id))
	if err != nil {
		return nil, translate(err, "connection "+id)
	}
	return c, nil
}

// Connections lists the connections caller may see, oldest first.
func (s *Store) Connections(ctx context.Context, caller tenantry.Caller, p tenantry.Page) ([]*tenantry.Connection, string, error) {
	p.Limit = pageLimit(p)
	return listPage(ctx, s, "list connections", p.Limit, scanConnection, func(c *tenantry.Connection) string { return c.ID },
		`SELECT `+connectionColumns+` FROM core.connections
		WHERE `+connScope+` AND id > $3 ORDER BY id LIMIT $4`, caller.PartnerID, caller.AccountID, p.Cursor, p.Limit+1)
}

// ConnectionUpdate is a change a caller asks for; nil fields are kept.
type ConnectionUpdate struct {
	Name    *string
	Fields  map[string]string // replaces the non-secret fields when not nil
	Secrets []byte            // replaces the sealed secrets when not nil
}

// RestartConnection applies u to connection id and starts its
// verification again (a check job, or a new OAuth authorization for a
// reconnect), keeping its id. ENOTFOUND if caller may not see it.
func (s *Store) RestartConnection(ctx context.Context, caller tenantry.Caller, id string, u ConnectionUpdate,
	cmd *tenantry.Command, state *OAuthState) (*tenantry.Connection, error) {
	status := tenantry.ConnPending
	if state != nil {
		status = tenantry.ConnOAuthPending
	}
	var c *tenantry.Connection
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnection(tx.QueryRow(ctx, `UPDATE core.connections SET name = coalesce($4, name),
			fields = coalesce($5, fields), secrets = coalesce($6, secrets), status = $7, status_reason = '',
			updated_at = now() WHERE `+connScope+` AND id = $3 RETURNING `+connectionColumns,
			caller.PartnerID, caller.AccountID, id, u.Name, nilIfEmpty(u.Fields), u.Secrets, status))
		if err != nil {
			return translate(err, "connection "+id)
		}
		b := &pgx.Batch{}
		queueStart(b, c, cmd, state)
		return tx.SendBatch(ctx, b).Close()
	})
	return c, err
}

// RenameConnection sets connection id's name and nothing else.
// ENOTFOUND if caller may not see it.
func (s *Store) RenameConnection(ctx context.Context, caller tenantry.Caller, id, name string) (*tenantry.Connection, error) {
	c, err := scanConnection(s.pool.QueryRow(ctx, `UPDATE core.connections SET name = $4, updated_at = now()
		WHERE `+connScope+` AND id = $3 RETURNING `+connectionColumns, caller.PartnerID, caller.AccountID, id, name))
	if err != nil {
		return nil, translate(err, "connection "+id)
	}
	return c, nil
}

func nilIfEmpty(m map[string]string) any {
	if m == nil {
		return nil
	}
	return m
}

// DeleteConnection removes connection id (its secrets are erased at once;
// the row stays for its logs and jobs) and emits server.deleted.
// ENOTFOUND if caller may not see it. It returns the event to publish.
func (s *Store) DeleteConnection(ctx context.Context, caller tenantry.Caller, id string) ([]tenantry.Message, error) {
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c, err := scanConnection(tx.QueryRow(ctx, `UPDATE core.connections SET deleted_at = now(), secrets = NULL,
			token_expires_at = NULL, updated_at = now() WHERE `+connScope+` AND id = $3 RETURNING `+connectionColumns,
			caller.PartnerID, caller.AccountID, id))
		if err != nil {
			return translate(err, "connection "+id)
		}
		msgs = []tenantry.Message{connectionEvent(c, "server.deleted", "")}
		b := &pgx.Batch{}
		queueLog(b, c, "info", "connection deleted", "")
		queueOutbox(b, msgs...)
		return tx.SendBatch(ctx, b).Close()
	})
	return msgs, err
}

// connectionEvent is the event for a connection fact.
func connectionEvent(c *tenantry.Connection, typ, jobID string) tenantry.Message {
	data, _ := json.Marshal(map[string]string{"connection_id": c.ID, "status": c.Status, "status_reason": c.StatusReason})
	return tenantry.Event{ID: NewID("evt"), Type: typ, PartnerID: c.PartnerID, AccountID: c.AccountID,
		JobID: jobID, At: time.Now().UTC(), Data: data}.Message()
}
