package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const apiKeyColumns = `id, partner_id, name, role, prefix, created_at, revoked_at, last_used_at`

func scanAPIKey(row pgx.Row) (*tenantry.APIKey, error) {
	k := &tenantry.APIKey{}
	if err := row.Scan(&k.ID, &k.PartnerID, &k.Name, &k.Role, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt); err != nil {
		return nil, err
	}
	k.Status = tenantry.KeyActive
	if k.RevokedAt != nil {
		k.Status = tenantry.KeyRevoked
	}
	return k, nil
}

// CreateAPIKey stores k (PartnerID, Name, Role and Prefix set) under the
// SHA-256 of the key, setting its id, status and creation time.
func (s *Store) CreateAPIKey(ctx context.Context, k *tenantry.APIKey, hash []byte) error {
	k.ID = NewID("key")
	got, err := scanAPIKey(s.pool.QueryRow(ctx, `INSERT INTO core.api_keys (id, partner_id, name, role, prefix, hash)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+apiKeyColumns, k.ID, k.PartnerID, k.Name, k.Role, k.Prefix, hash))
	if err != nil {
		return translate(err, "api key")
	}
	*k = *got
	return nil
}

// APIKeys lists a partner's keys, oldest first, a keyset page at a time.
func (s *Store) APIKeys(ctx context.Context, partnerID string, p tenantry.Page) ([]*tenantry.APIKey, string, error) {
	limit := pageLimit(p)
	return listPage(ctx, s, "list api keys", limit, scanAPIKey, func(k *tenantry.APIKey) string { return k.ID },
		`SELECT `+apiKeyColumns+` FROM core.api_keys WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		partnerID, p.Cursor, limit+1)
}

// RevokeAPIKey revokes a partner's key id and, in the same transaction,
// every token recorded with it (key_id): those exchanged for it and the
// account and single-use tokens it minted. From the commit on, none of
// them authenticates, and no new one is recorded (RecordToken locks the
// key). Revoking a revoked key changes nothing. ENOTFOUND if the partner
// has no such key.
func (s *Store) RevokeAPIKey(ctx context.Context, partnerID, id string) (*tenantry.APIKey, error) {
	var k *tenantry.APIKey
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		k, err = scanAPIKey(tx.QueryRow(ctx, `UPDATE core.api_keys SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 AND partner_id = $2 RETURNING `+apiKeyColumns, id, partnerID))
		if err != nil {
			return translate(err, "api key "+id)
		}
		_, err = tx.Exec(ctx, `UPDATE core.tokens SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL`, id)
		return translate(err, "revoke the key's tokens")
	})
	return k, err
}

// ReactivateAPIKey makes a revoked key authenticate again. Tokens
// exchanged for it or minted by it before the revocation stay revoked.
// Reactivating an active key changes nothing. ENOTFOUND if the partner has
// no such key.
func (s *Store) ReactivateAPIKey(ctx context.Context, partnerID, id string) (*tenantry.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `UPDATE core.api_keys SET revoked_at = NULL
		WHERE id = $1 AND partner_id = $2 RETURNING `+apiKeyColumns, id, partnerID))
	return k, translate(err, "api key "+id)
}

// DeleteAPIKey deletes a revoked key (with its revoked tokens). ECONFLICT
// if the key is active: revoke it first. ENOTFOUND if the partner has no
// such key.
func (s *Store) DeleteAPIKey(ctx context.Context, partnerID, id string) error {
	var active *bool
	err := s.pool.QueryRow(ctx, `WITH gone AS (
			DELETE FROM core.api_keys WHERE id = $1 AND partner_id = $2 AND revoked_at IS NOT NULL RETURNING id)
		SELECT (SELECT revoked_at IS NULL FROM core.api_keys WHERE id = $1 AND partner_id = $2)
		WHERE NOT EXISTS (SELECT 1 FROM gone)`, id, partnerID).Scan(&active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // deleted
	case err != nil:
		return fmt.Errorf("delete api key: %w", err)
	case active == nil:
		return tenantry.Errorf(tenantry.ENOTFOUND, "api key %s not found", id)
	}
	return tenantry.Errorf(tenantry.ECONFLICT, "api key %s is active; revoke it before deleting it", id)
}

// AuthenticateAPIKey returns the caller a key authenticates, given the
// key's SHA-256: a partner caller with the key's role. EUNAUTHORIZED if
// no key has that hash or the key is revoked. It records the use at most
// once a minute per key and never waits for another request doing so.
func (s *Store) AuthenticateAPIKey(ctx context.Context, hash []byte) (tenantry.Caller, error) {
	var c tenantry.Caller
	var active bool
	err := s.pool.QueryRow(ctx, `WITH k AS (
			SELECT id, partner_id, role, revoked_at IS NULL AS active FROM core.api_keys WHERE hash = $1
		), touched AS (
			UPDATE core.api_keys SET last_used_at = now() WHERE id = (
				SELECT a.id FROM core.api_keys a JOIN k ON a.id = k.id
				WHERE a.revoked_at IS NULL AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute')
				FOR UPDATE OF a SKIP LOCKED)
			RETURNING id)
		SELECT id, partner_id, role, active FROM k`, hash).Scan(&c.KeyID, &c.PartnerID, &c.Role, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && !active:
		return c, tenantry.Errorf(tenantry.EUNAUTHORIZED, "the API key is unknown or revoked")
	case err != nil:
		return c, fmt.Errorf("authenticate api key: %w", err)
	}
	c.Kind, c.APIKey, c.TokenID = tenantry.KindPartnerToken, true, c.KeyID
	return c, nil
}
