package store

import (
	"context"
	"fmt"

	"github.com/tenantry/tenantry"
)

// RecordToken stores a non-expiring token's id so that it can be revoked.
func (s *Store) RecordToken(ctx context.Context, c tenantry.Caller) error {
	var account *string
	if c.AccountID != "" {
		account = &c.AccountID
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO core.tokens (id, kind, partner_id, account_id) VALUES ($1, $2, $3, $4)`,
		c.TokenID, c.Kind, c.PartnerID, account)
	return translate(err, "token")
}

// RevokeToken revokes the non-expiring token id; ENOTFOUND if unknown.
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
// a stored (non-expiring) token, it is not revoked. EUNAUTHORIZED if not.
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

// RevokeAccountTokens revokes every non-expiring token of subaccount id
// and returns how many were live. ENOTFOUND if c may not see it.
// (Short-lived account tokens expire within the hour; they die at once
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
