package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

func scanUser(row pgx.Row) (*tenantry.User, error) {
	u := &tenantry.User{}
	err := row.Scan(&u.ID, &u.AccountID, &u.Email, &u.Role, &u.CreatedAt)
	return u, err
}

// Users lists the users of subaccount id, oldest first, a keyset page at
// a time. ENOTFOUND if c may not see the subaccount.
func (s *Store) Users(ctx context.Context, c tenantry.Caller, id string, p tenantry.Page) ([]*tenantry.User, string, error) {
	if _, err := s.Subaccount(ctx, c, id); err != nil {
		return nil, "", err
	}
	limit := pageLimit(p)
	return listPage(ctx, s, "list users", limit, scanUser, func(u *tenantry.User) string { return u.ID },
		`SELECT id, account_id, email, role, created_at FROM core.users WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		id, p.Cursor, limit+1)
}

// UserAccount returns the account of user id. ENOTFOUND if the user, or
// its account, is gone.
func (s *Store) UserAccount(ctx context.Context, id string) (string, error) {
	var account string
	err := s.pool.QueryRow(ctx, `SELECT u.account_id FROM core.users u JOIN core.accounts a ON a.id = u.account_id
		WHERE u.id = $1 AND a.deleted_at IS NULL`, id).Scan(&account)
	return account, translate(err, "user "+id)
}
