package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SigningKey is a stored JWT signing key; Private is sealed.
type SigningKey struct {
	KID       string
	Private   []byte
	Public    []byte
	CreatedAt time.Time
}

// SigningKeys returns the keys not retired, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, private_key, public_key, created_at FROM core.signing_keys
		WHERE retired_at IS NULL ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("query signing keys: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		err := row.Scan(&k.KID, &k.Private, &k.Public, &k.CreatedAt)
		return k, err
	})
}

// InsertSigningKey stores a new signing key.
func (s *Store) InsertSigningKey(ctx context.Context, k SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO core.signing_keys (kid, private_key, public_key) VALUES ($1, $2, $3)`,
		k.KID, k.Private, k.Public)
	return translate(err, "signing key")
}
