package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SigningKey is a stored JWT signing key; Private is sealed. A key signs
// from ActivatesAt on and verifies until it is retired.
type SigningKey struct {
	KID         string
	Private     []byte
	Public      []byte
	CreatedAt   time.Time
	ActivatesAt time.Time
}

// SigningKeys returns the keys not retired, the latest to activate first.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, private_key, public_key, created_at, activates_at FROM core.signing_keys
		WHERE retired_at IS NULL ORDER BY activates_at DESC, created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("query signing keys: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		err := row.Scan(&k.KID, &k.Private, &k.Public, &k.CreatedAt, &k.ActivatesAt)
		return k, err
	})
}

// InsertSigningKey stores a new signing key, which signs from
// k.ActivatesAt on (now if zero).
func (s *Store) InsertSigningKey(ctx context.Context, k SigningKey) error {
	var at *time.Time
	if !k.ActivatesAt.IsZero() {
		at = &k.ActivatesAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO core.signing_keys (kid, private_key, public_key, activates_at)
		VALUES ($1, $2, $3, coalesce($4, now()))`, k.KID, k.Private, k.Public, at)
	return translate(err, "signing key")
}

// RetireSigningKeys retires the keys that a newer key superseded (became
// the signing key) before supersededBefore, unless a live recorded token
// may have been signed with one (non-expiring tokens keep their key). It
// returns the retired key ids. A retired key verifies nothing.
func (s *Store) RetireSigningKeys(ctx context.Context, supersededBefore time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `UPDATE core.signing_keys k SET retired_at = now()
		WHERE retired_at IS NULL
		  AND EXISTS (SELECT 1 FROM core.signing_keys n WHERE n.retired_at IS NULL
		      AND n.activates_at > k.activates_at AND n.activates_at <= $1)
		  AND NOT EXISTS (SELECT 1 FROM core.tokens t WHERE t.revoked_at IS NULL
		      AND (t.expires_at IS NULL OR t.expires_at > now())
		      AND (t.kid = k.kid OR t.kid IS NULL AND t.created_at >= k.created_at))
		RETURNING kid`, supersededBefore)
	if err != nil {
		return nil, fmt.Errorf("retire signing keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
