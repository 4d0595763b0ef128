package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// ScriptSecret returns the id and the sealed secrets of account
// accountID's newest live Secret Store connection called name, for
// pq.get_secret. ENOTFOUND if it has none: only the account's own
// connections are looked at.
func (s *Store) ScriptSecret(ctx context.Context, accountID, name string) (id string, sealed []byte, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id, secrets FROM core.connections
		WHERE account_id = $1 AND name = $2 AND servertype_id = 'secret_store' AND deleted_at IS NULL AND secrets IS NOT NULL
		ORDER BY id DESC LIMIT 1`, accountID, name).Scan(&id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, tenantry.Errorf(tenantry.ENOTFOUND, "there is no secret named %q", name)
	}
	if err != nil {
		return "", nil, translate(err, "secret")
	}
	return id, sealed, nil
}
