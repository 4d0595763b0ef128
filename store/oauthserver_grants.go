package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// Grant is what a user allowed an OAuth client: access to one account.
// Its authorization code is redeemed once; the tokens it then issues (a
// family of refresh tokens, each used once, and their access tokens) are
// revoked together.
type Grant struct {
	ID, ClientID, PartnerID, AccountID, UserID string
	RedirectURI, CodeChallenge                 string
}

// CreateGrant stores g with the hash of its code, valid until codeExpires.
func (s *Store) CreateGrant(ctx context.Context, g Grant, codeHash []byte, codeExpires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO core.oauth_grants
		(id, client_id, account_id, user_id, code_hash, redirect_uri, code_challenge, code_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		g.ID, g.ClientID, g.AccountID, g.UserID, codeHash, g.RedirectURI, g.CodeChallenge, codeExpires)
	return translate(err, "grant")
}

const grantColumns = `g.id, g.client_id, a.partner_id, g.account_id, g.user_id, g.redirect_uri, g.code_challenge`

func scanGrant(row pgx.Row) (*Grant, error) {
	g := &Grant{}
	err := row.Scan(&g.ID, &g.ClientID, &g.PartnerID, &g.AccountID, &g.UserID, &g.RedirectURI, &g.CodeChallenge)
	return g, err
}

// errInvalidGrant is the one answer to a code or refresh token that does
// not work, whatever the reason (OAuth's invalid_grant).
var errInvalidGrant = tenantry.Errorf(tenantry.EUNAUTHORIZED, "the authorization code or refresh token is invalid, expired, used or revoked")

// GrantTokens is what a redeemed code or a rotated refresh token issues.
// It is stored in the transaction that spends the code or token, so the
// two stand or fall together: if anything fails, the code or token is
// still unspent and the client's retry with it is no reuse.
type GrantTokens struct {
	RefreshHash    []byte // the new refresh token's SHA-256
	RefreshExpires time.Time
	// Access signs the access token of grant g and returns its record.
	// It runs inside the transaction, so it must not do I/O.
	Access func(g *Grant) (TokenRecord, error)
}

// RedeemCode marks client's code (by hash) used and, if verify accepts
// its grant (redirect URI, PKCE verifier), stores t in the same
// transaction and returns the grant. EUNAUTHORIZED if the code is
// unknown, another client's, expired, or its grant is revoked or its
// account gone; a code verify refuses is spent and its grant revoked; a
// code presented a second time also revokes its grant and everything the
// grant issued (RFC 6749 10.5). Any other error leaves the code unspent.
func (s *Store) RedeemCode(ctx context.Context, clientID string, codeHash []byte, verify func(*Grant) bool, t GrantTokens) (*Grant, error) {
	var g *Grant
	refused := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		g, err = scanGrant(tx.QueryRow(ctx, `UPDATE core.oauth_grants g SET code_used_at = now()
			FROM core.accounts a WHERE a.id = g.account_id AND a.deleted_at IS NULL
			  AND g.code_hash = $1 AND g.client_id = $2 AND g.code_used_at IS NULL
			  AND g.code_expires_at > now() AND g.revoked_at IS NULL
			RETURNING `+grantColumns, codeHash, clientID))
		switch {
		case err != nil:
			return err
		case !verify(g):
			refused = true // the code is spent either way; nothing is issued under it
			return tx.SendBatch(ctx, revokeGrant(g.ID)).Close()
		}
		return issueGrantTokens(ctx, tx, g, t)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, s.codeRefused(ctx, clientID, codeHash)
	case err != nil:
		return nil, fmt.Errorf("redeem code: %w", err)
	case refused:
		return nil, errInvalidGrant
	}
	return g, nil
}

// codeRefused revokes the grant of a code used before.
func (s *Store) codeRefused(ctx context.Context, clientID string, codeHash []byte) error {
	var reused string
	err := s.pool.QueryRow(ctx, `SELECT id FROM core.oauth_grants WHERE code_hash = $1 AND client_id = $2
		AND code_used_at IS NOT NULL`, codeHash, clientID).Scan(&reused)
	if err == nil {
		err = s.RevokeGrant(ctx, reused)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("redeem code: %w", err)
	}
	return errInvalidGrant
}

// RotateRefreshToken marks client's refresh token (by hash) used, stores
// t (its successor and an access token) in the same transaction, and
// returns the grant. EUNAUTHORIZED if the token is unknown, another
// client's, expired, or its grant is revoked or its account gone; a token
// used a second time (stolen, or replayed) also revokes its whole family:
// the grant, its refresh tokens and its access tokens. Any other error
// leaves the token unused.
func (s *Store) RotateRefreshToken(ctx context.Context, clientID string, hash []byte, t GrantTokens) (*Grant, error) {
	var g *Grant
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		g, err = scanGrant(tx.QueryRow(ctx, `UPDATE core.oauth_refresh_tokens r SET used_at = now()
			FROM core.oauth_grants g JOIN core.accounts a ON a.id = g.account_id AND a.deleted_at IS NULL
			WHERE r.hash = $1 AND g.id = r.grant_id AND g.client_id = $2 AND g.revoked_at IS NULL
			  AND r.used_at IS NULL AND r.expires_at > now()
			RETURNING `+grantColumns, hash, clientID))
		if err != nil {
			return err
		}
		return issueGrantTokens(ctx, tx, g, t)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.refreshRefused(ctx, clientID, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	return g, nil
}

// issueGrantTokens stores t for grant g inside tx. It locks the grant
// first (FOR SHARE), so a concurrent RevokeGrant either waits for this
// transaction and then revokes its tokens too, or commits first and this
// finds the grant revoked (pgx.ErrNoRows).
func issueGrantTokens(ctx context.Context, tx pgx.Tx, g *Grant, t GrantTokens) error {
	var id string
	if err := tx.QueryRow(ctx, `SELECT id FROM core.oauth_grants WHERE id = $1 AND revoked_at IS NULL FOR SHARE`, g.ID).Scan(&id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO core.oauth_refresh_tokens (hash, grant_id, expires_at) VALUES ($1, $2, $3)`,
		t.RefreshHash, g.ID, t.RefreshExpires); err != nil {
		return err
	}
	access, err := t.Access(g)
	if err != nil {
		return err
	}
	return recordToken(ctx, tx, access)
}

// refreshRefused revokes the family of a refresh token used before.
func (s *Store) refreshRefused(ctx context.Context, clientID string, hash []byte) error {
	var grant string
	err := s.pool.QueryRow(ctx, `SELECT r.grant_id FROM core.oauth_refresh_tokens r JOIN core.oauth_grants g ON g.id = r.grant_id
		WHERE r.hash = $1 AND g.client_id = $2 AND r.used_at IS NOT NULL`, hash, clientID).Scan(&grant)
	if err == nil {
		err = s.RevokeGrant(ctx, grant)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("refresh reuse: %w", err)
	}
	return errInvalidGrant
}

// RevokeGrant revokes grant id, its refresh tokens and its access tokens,
// in one transaction; from the commit on none of them works. Idempotent.
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	if err := s.pool.SendBatch(ctx, revokeGrant(id)).Close(); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// revokeGrant is the batch that revokes grant id and its access tokens
// (its refresh tokens stop working with it).
func revokeGrant(id string) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.oauth_grants SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	b.Queue(`UPDATE core.tokens SET revoked_at = now() WHERE grant_id = $1 AND revoked_at IS NULL`, id)
	return b
}

// RevokeRefreshToken revokes the family of client's refresh token (by
// hash). found is false if client has no such token.
func (s *Store) RevokeRefreshToken(ctx context.Context, clientID string, hash []byte) (found bool, err error) {
	var grant string
	err = s.pool.QueryRow(ctx, `SELECT r.grant_id FROM core.oauth_refresh_tokens r JOIN core.oauth_grants g ON g.id = r.grant_id
		WHERE r.hash = $1 AND g.client_id = $2`, hash, clientID).Scan(&grant)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoke refresh token: %w", err)
	}
	return true, s.RevokeGrant(ctx, grant)
}

// RevokeAccessToken revokes the access token jti if client's grant
// issued it; found is false otherwise.
func (s *Store) RevokeAccessToken(ctx context.Context, clientID, jti string) (found bool, err error) {
	tag, err := s.pool.Exec(ctx, `UPDATE core.tokens t SET revoked_at = coalesce(t.revoked_at, now())
		FROM core.oauth_grants g WHERE t.id = $1 AND g.id = t.grant_id AND g.client_id = $2`, jti, clientID)
	if err != nil {
		return false, fmt.Errorf("revoke access token: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
