package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// OAuthState is an OAuth authorization request in flight. Only the
// state's hash is stored; Verifier (PKCE) is sealed.
type OAuthState struct {
	Hash         []byte
	ConnectionID string
	Verifier     []byte
	RedirectURI  string
	ExpiresAt    time.Time
}

// OAuthResult is what the provider's redirect to our callback said.
type OAuthResult struct {
	Exchange *tenantry.Command // set when a code came back: the exchange job to enqueue
	Denied   string            // set when the provider reported an error (e.g. access_denied)
}

// CompleteOAuth consumes the authorization request whose state hashes to
// hash, atomically (a state works once), and records the result: the
// exchange job is enqueued, or the connection is failed with the
// provider's error. ENOTFOUND for an unknown state; ECONFLICT for one
// already used, or for a connection no longer waiting for this
// authorization (both leave the connection alone); EINVALID for an
// expired one, which fails the connection. While the code is exchanged
// the connection is pending. The messages committed (the exchange
// command, or the connection's event) come back even with an error.
func (s *Store) CompleteOAuth(ctx context.Context, hash []byte, r OAuthResult) ([]tenantry.Message, error) {
	var c *tenantry.Connection
	var msgs []tenantry.Message
	var outcome error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var connID string
		var expires time.Time
		err := tx.QueryRow(ctx, `UPDATE core.oauth_states SET used_at = now() WHERE state_hash = $1 AND used_at IS NULL
			RETURNING connection_id, expires_at`, hash).Scan(&connID, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return usedOrUnknown(ctx, tx, hash)
		}
		if err != nil {
			return fmt.Errorf("consume oauth state: %w", err)
		}
		if c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+` FROM core.connections
			WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, connID)); err != nil {
			return translate(err, "connection "+connID)
		}
		if c.Status != tenantry.ConnOAuthPending {
			outcome = tenantry.Errorf(tenantry.ECONFLICT, "this authorization is no longer current")
			return nil // consumed, and nothing else changes
		}
		o := ConnectionOutcome{Status: tenantry.ConnError, Level: "error"}
		switch {
		case time.Now().After(expires):
			o.Reason = "the authorization took longer than allowed; reconnect to try again"
			outcome = tenantry.Errorf(tenantry.EINVALID, "this authorization link has expired")
		case r.Denied != "":
			o.Reason = "the provider refused the authorization: " + r.Denied
		default:
			r.Exchange.PartnerID, r.Exchange.AccountID = c.PartnerID, c.AccountID
			b := &pgx.Batch{}
			// pending, not oauth_pending: the user is done; we are exchanging.
			b.Queue(`UPDATE core.connections SET status = 'pending', status_reason = 'exchanging the authorization code',
				updated_at = now() WHERE id = $1`, c.ID)
			queueJob(b, r.Exchange)
			queueLog(b, c, "info", "authorization granted; exchanging the code", r.Exchange.JobID)
			msgs = []tenantry.Message{r.Exchange.Message()}
			return tx.SendBatch(ctx, b).Close()
		}
		o.Log = o.Reason
		if msgs, err = applyOutcome(ctx, tx, c.ID, "", o); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, msgs)
	})
	if err != nil {
		return nil, err
	}
	return msgs, outcome
}

func usedOrUnknown(ctx context.Context, tx pgx.Tx, hash []byte) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM core.oauth_states WHERE state_hash = $1)`, hash).Scan(&exists); err != nil {
		return fmt.Errorf("look up oauth state: %w", err)
	}
	if exists {
		return tenantry.Errorf(tenantry.ECONFLICT, "this authorization link was already used")
	}
	return tenantry.Errorf(tenantry.ENOTFOUND, "unknown authorization request")
}

// OAuthRequest returns the authorization request whose state hashes to
// hash: its connection, sealed PKCE verifier (nil without PKCE) and
// redirect URI. ENOTFOUND if unknown.
func (s *Store) OAuthRequest(ctx context.Context, hash []byte) (*OAuthState, error) {
	st := &OAuthState{Hash: hash}
	err := s.pool.QueryRow(ctx, `SELECT connection_id, verifier, redirect_uri, expires_at FROM core.oauth_states
		WHERE state_hash = $1`, hash).Scan(&st.ConnectionID, &st.Verifier, &st.RedirectURI, &st.ExpiresAt)
	if err != nil {
		return nil, translate(err, "authorization request")
	}
	return st, nil
}

// OAuthApp is a partner's own OAuth client for a connector.
type OAuthApp struct {
	ServerTypeID string    `json:"servertype_id"`
	ClientID     string    `json:"client_id"`
	Secret       []byte    `json:"-"` // sealed
	UpdatedAt    time.Time `json:"updated_at"`
}

// SetOAuthApp creates or replaces partnerID's OAuth client for a
// connector.
func (s *Store) SetOAuthApp(ctx context.Context, partnerID string, app *OAuthApp) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO core.oauth_apps (partner_id, servertype_id, client_id, client_secret)
		VALUES ($1, $2, $3, $4) ON CONFLICT (partner_id, servertype_id) DO UPDATE
		SET client_id = excluded.client_id, client_secret = excluded.client_secret, updated_at = now()
		RETURNING updated_at`, partnerID, app.ServerTypeID, app.ClientID, app.Secret).Scan(&app.UpdatedAt)
	return translate(err, "oauth app")
}

// PartnerOAuthApp returns partnerID's OAuth client for a connector;
// ENOTFOUND if the partner has none (use the operator's).
func (s *Store) PartnerOAuthApp(ctx context.Context, partnerID, serverType string) (*OAuthApp, error) {
	app := &OAuthApp{}
	err := s.pool.QueryRow(ctx, `SELECT servertype_id, client_id, client_secret, updated_at FROM core.oauth_apps
		WHERE partner_id = $1 AND servertype_id = $2`, partnerID, serverType).Scan(&app.ServerTypeID, &app.ClientID, &app.Secret, &app.UpdatedAt)
	if err != nil {
		return nil, translate(err, "oauth app for "+serverType)
	}
	return app, nil
}

// OAuthApps lists partnerID's OAuth clients.
func (s *Store) OAuthApps(ctx context.Context, partnerID string) ([]*OAuthApp, error) {
	rows, err := s.pool.Query(ctx, `SELECT servertype_id, client_id, client_secret, updated_at FROM core.oauth_apps
		WHERE partner_id = $1 ORDER BY servertype_id`, partnerID)
	if err != nil {
		return nil, fmt.Errorf("list oauth apps: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*OAuthApp, error) {
		app := &OAuthApp{}
		return app, row.Scan(&app.ServerTypeID, &app.ClientID, &app.Secret, &app.UpdatedAt)
	})
}

// DeleteOAuthApp removes partnerID's OAuth client for a connector;
// ENOTFOUND if there is none.
func (s *Store) DeleteOAuthApp(ctx context.Context, partnerID, serverType string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM core.oauth_apps WHERE partner_id = $1 AND servertype_id = $2`, partnerID, serverType)
	if err != nil {
		return fmt.Errorf("delete oauth app: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "no oauth app for %s", serverType)
	}
	return nil
}

// ExpireAuthorizations fails every connection still waiting for an
// authorization whose newest link has expired (the end-customer never
// came back from the provider). It returns the events to publish.
func (s *Store) ExpireAuthorizations(ctx context.Context, limit int) ([]tenantry.Message, error) {
	var msgs []tenantry.Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM core.connections c WHERE status = 'oauth_pending' AND deleted_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM core.oauth_states o WHERE o.connection_id = c.id AND o.used_at IS NULL AND o.expires_at > now())
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return fmt.Errorf("expired authorizations: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("expired authorizations: %w", err)
		}
		reason := "the authorization was not completed in time; reconnect to try again"
		for _, id := range ids {
			m, err := applyOutcome(ctx, tx, id, "", ConnectionOutcome{Status: tenantry.ConnError, Reason: reason, Level: "error", Log: reason})
			if err != nil {
				return err
			}
			msgs = append(msgs, m...)
		}
		return writeOutbox(ctx, tx, msgs)
	})
	return msgs, err
}
