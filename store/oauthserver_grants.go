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

// RedeemCode marks client's code (by hash) used and returns its grant.
// EUNAUTHORIZED if the code is unknown, another client's, expired, or its
// grant is revoked or its account gone; a code presented a second time
// also revokes its grant and everything the grant issued (RFC 6749
// 10.5). The caller checks the redirect URI and the PKCE verifier next.
func (s *Store) RedeemCode(ctx context.Context, clientID string, codeHash []byte) (*Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, `UPDATE core.oauth_grants g SET code_used_at = now()
		FROM core.accounts a WHERE a.id = g.account_id AND a.deleted_at IS NULL
		  AND g.code_hash = $1 AND g.client_id = $2 AND g.code_used_at IS NULL
		  AND g.code_expires_at > now() AND g.revoked_at IS NULL
		RETURNING `+grantColumns, codeHash, clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		var reused string
		err := s.pool.QueryRow(ctx, `SELECT id FROM core.oauth_grants WHERE code_hash = $1 AND client_id = $2
			AND code_used_at IS NOT NULL`, codeHash, clientID).Scan(&reused)
		if err == nil {
			err = s.RevokeGrant(ctx, reused)
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("redeem code: %w", err)
		}
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, fmt.Errorf("redeem code: %w", err)
	}
	return g, nil
}

// AddRefreshToken stores a refresh token (by hash) of grant id.
func (s *Store) AddRefreshToken(ctx context.Context, grantID string, hash []byte, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO core.oauth_refresh_tokens (hash, grant_id, expires_at) VALUES ($1, $2, $3)`,
		hash, grantID, expires)
	return translate(err, "refresh token")
}

// RotateRefreshToken marks client's refresh token (by hash) used,
// stores its successor (newHash, until expires) in the same transaction,
// and returns the grant. EUNAUTHORIZED if the token is unknown, another
// client's, expired, or its grant is revoked or its account gone; a token
// used a second time (stolen, or replayed) also revokes its whole family:
// the grant, its refresh tokens and its access tokens.
func (s *Store) RotateRefreshToken(ctx context.Context, clientID string, hash, newHash []byte, expires time.Time) (*Grant, error) {
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
		_, err = tx.Exec(ctx, `INSERT INTO core.oauth_refresh_tokens (hash, grant_id, expires_at) VALUES ($1, $2, $3)`,
			newHash, g.ID, expires)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.refreshRefused(ctx, clientID, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	return g, nil
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
	b := &pgx.Batch{}
	b.Queue(`UPDATE core.oauth_grants SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	b.Queue(`UPDATE core.tokens SET revoked_at = now() WHERE grant_id = $1 AND revoked_at IS NULL`, id)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
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
