package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// TokenRecord is what is stored of a token checked on every use, so that
// it can be revoked.
type TokenRecord struct {
	Kind string
	// Caller is the token's: TokenID its id, KeyID the API key that minted
	// it (and revokes it), GrantID the OAuth grant that issued it.
	Caller    tenantry.Caller
	KID       string     // its signing key, kept while the token may verify
	ExpiresAt *time.Time // nil if it never expires
}

// RecordToken stores r: a non-expiring token, one exchanged for or
// minted by an API key (Caller.KeyID set), or an OAuth access token
// (Caller.GrantID set). EUNAUTHORIZED if the key is revoked: a token is
// never recorded live after its key's revocation has committed.
func (s *Store) RecordToken(ctx context.Context, r TokenRecord) error {
	return recordToken(ctx, s.pool, r)
}

// recordToken stores r through q (the pool, or the transaction that
// issues the token). The key, if any, is locked against a concurrent
// revocation (FOR SHARE): RevokeAPIKey either sees this token or commits
// first and this insert finds the key revoked.
func recordToken(ctx context.Context, q rowQuerier, r TokenRecord) error {
	c := r.Caller
	var id string
	err := q.QueryRow(ctx, `INSERT INTO core.tokens (id, kind, partner_id, account_id, key_id, grant_id, kid, expires_at)
		SELECT $1, $2, $3, nullif($4, ''), nullif($5, ''), nullif($6, ''), $7, $8
		WHERE $5 = '' OR EXISTS (SELECT 1 FROM core.api_keys
			WHERE id = $5 AND partner_id = $3 AND revoked_at IS NULL FOR SHARE)
		RETURNING id`,
		c.TokenID, r.Kind, c.PartnerID, c.AccountID, c.KeyID, c.GrantID, r.KID, r.ExpiresAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenantry.Errorf(tenantry.EUNAUTHORIZED, "the API key is unknown or revoked")
	}
	return translate(err, "token")
}

// RevokeToken revokes the recorded token id; ENOTFOUND if unknown.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE core.tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "token %s not found", id)
	}
	return nil
}

// RevokePartnerTokens revokes every non-expiring partner token of a
// partner and returns how many were live.
func (s *Store) RevokePartnerTokens(ctx context.Context, partnerID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE core.tokens SET revoked_at = now()
		WHERE partner_id = $1 AND kind = $2 AND revoked_at IS NULL`, partnerID, tenantry.KindPartnerToken)
	if err != nil {
		return 0, fmt.Errorf("revoke partner tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CheckCaller confirms that a verified token still stands: its partner
// exists, its account (if any) is the partner's and not deleted, and, for
// a recorded token (stored: non-expiring, exchanged for or minted by an
// API key, or an OAuth access token), it is not revoked. EUNAUTHORIZED if
// not. One indexed query, on every request.
func (s *Store) CheckCaller(ctx context.Context, c tenantry.Caller, stored bool) error {
	tokenID := ""
	if stored {
		tokenID = c.TokenID
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM core.partners WHERE id = $1)
		AND ($2 = '' OR EXISTS (SELECT 1 FROM core.accounts WHERE id = $2 AND partner_id = $1 AND deleted_at IS NULL))
		AND ($3 = '' OR EXISTS (SELECT 1 FROM core.tokens WHERE id = $3 AND partner_id = $1 AND revoked_at IS NULL))`,
		c.PartnerID, c.AccountID, tokenID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check caller: %w", err)
	}
	if !ok {
		return tenantry.Errorf(tenantry.EUNAUTHORIZED, "the token has been revoked or its account no longer exists")
	}
	return nil
}

// RevokeAccountTokens revokes every recorded token of subaccount id (the
// non-expiring ones, those minted by an API key, OAuth access tokens) and
// returns how many were live. ENOTFOUND if c may not see it.
// (Unrecorded account tokens expire within the hour; they die at once
// when the subaccount is deleted.)
func (s *Store) RevokeAccountTokens(ctx context.Context, c tenantry.Caller, id string) (int64, error) {
	if _, err := s.Subaccount(ctx, c, id); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE core.tokens SET revoked_at = now()
		WHERE account_id = $1 AND partner_id = $2 AND revoked_at IS NULL`, id, c.PartnerID)
	if err != nil {
		return 0, fmt.Errorf("revoke account tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// consumeToken marks the single-use token jti used, inside tx: the first
// transaction to commit it wins; any other, concurrent or later, gets
// EUNAUTHORIZED (a concurrent one waits for the first to commit or roll
// back, so a failed first use does not burn the token). until is when the
// token can no longer verify anyway and the mark may be purged.
func consumeToken(ctx context.Context, tx pgx.Tx, jti string, until time.Time) error {
	tag, err := tx.Exec(ctx, `INSERT INTO core.used_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`, jti, until)
	if err != nil {
		return fmt.Errorf("consume token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.EUNAUTHORIZED, "this single-use token has already been used")
	}
	return nil
}

// PurgeExpiredTokens deletes the records of tokens that can no longer
// verify: consumed single-use token ids, recorded tokens past their
// expiry (revocation checks of expired tokens never run: the signature
// check refuses them first), and unanswered OAuth consents.
func (s *Store) PurgeExpiredTokens(ctx context.Context, before time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM core.used_tokens WHERE expires_at < $1`, before)
	b.Queue(`DELETE FROM core.tokens WHERE expires_at < $1`, before)
	b.Queue(`DELETE FROM core.oauth_consents WHERE expires_at < $1`, before)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("purge expired tokens: %w", err)
	}
	return nil
}
