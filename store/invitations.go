package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

const invitationColumns = `id, account_id, email, role, created_at, expires_at, accepted_at`

func scanInvitation(row pgx.Row) (*tenantry.Invitation, error) {
	inv := &tenantry.Invitation{}
	if err := row.Scan(&inv.ID, &inv.AccountID, &inv.Email, &inv.Role, &inv.CreatedAt, &inv.ExpiresAt, &inv.AcceptedAt); err != nil {
		return nil, err
	}
	inv.Status = tenantry.InvitationPending
	switch {
	case inv.AcceptedAt != nil:
		inv.Status = tenantry.InvitationAccepted
	case time.Now().After(inv.ExpiresAt):
		inv.Status = tenantry.InvitationExpired
	}
	return inv, nil
}

// CreateInvitation invites inv.Email to the account of c, a single-use
// caller, and consumes c's token in the same transaction: of any number
// of requests with one token, one invites and the others get
// EUNAUTHORIZED. The accept link's secret is stored as secretHash only.
// consumedUntil is when the token's record may be purged. ENOTFOUND if
// the account is gone; ECONFLICT if the email is already a user there.
func (s *Store) CreateInvitation(ctx context.Context, c tenantry.Caller, inv *tenantry.Invitation, secretHash []byte, consumedUntil time.Time) error {
	inv.ID, inv.AccountID = NewID("inv"), c.AccountID
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := consumeToken(ctx, tx, c.TokenID, consumedUntil); err != nil {
			return err
		}
		got, err := scanInvitation(tx.QueryRow(ctx, `INSERT INTO core.invitations (id, account_id, email, role, secret_hash, expires_at)
			SELECT $1, a.id, $4, $5, $6, $7 FROM core.accounts a
			WHERE a.id = $2 AND a.partner_id = $3 AND a.deleted_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM core.users u WHERE u.account_id = a.id AND lower(u.email) = lower($4))
			RETURNING `+invitationColumns, inv.ID, c.AccountID, c.PartnerID, inv.Email, inv.Role, secretHash, inv.ExpiresAt))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.whyNoInvitation(ctx, tx, c, inv.Email)
		}
		if err != nil {
			return translate(err, "invitation")
		}
		*inv = *got
		return nil
	})
}

// whyNoInvitation tells an account that is gone from an existing user.
func (s *Store) whyNoInvitation(ctx context.Context, tx pgx.Tx, c tenantry.Caller, email string) error {
	var live bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM core.accounts WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL)`,
		c.AccountID, c.PartnerID).Scan(&live)
	switch {
	case err != nil:
		return fmt.Errorf("create invitation: %w", err)
	case !live:
		return tenantry.Errorf(tenantry.ENOTFOUND, "subaccount %s not found", c.AccountID)
	}
	return tenantry.Errorf(tenantry.ECONFLICT, "%s is already a user of this account", email)
}

// AcceptInvitation accepts the invitation whose link secret hashes to
// secretHash, creating its user with the password hash, in one
// transaction: a link works once. ENOTFOUND for an unknown link (or one
// whose account is gone), ECONFLICT for a link already used, expired, or
// whose email has become a user meanwhile.
func (s *Store) AcceptInvitation(ctx context.Context, secretHash []byte, passwordHash string) (*tenantry.User, error) {
	u := &tenantry.User{ID: NewID("usr")}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE core.invitations i SET accepted_at = now(), user_id = $2
			FROM core.accounts a WHERE i.secret_hash = $1 AND a.id = i.account_id AND a.deleted_at IS NULL
			  AND i.accepted_at IS NULL AND i.expires_at > now()
			RETURNING i.account_id, i.email, i.role`, secretHash, u.ID).Scan(&u.AccountID, &u.Email, &u.Role)
		if errors.Is(err, pgx.ErrNoRows) {
			return s.whyNotAccepted(ctx, tx, secretHash)
		}
		if err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		err = tx.QueryRow(ctx, `INSERT INTO core.users (id, account_id, email, role, password_hash) VALUES ($1, $2, $3, $4, $5)
			RETURNING created_at`, u.ID, u.AccountID, u.Email, u.Role, passwordHash).Scan(&u.CreatedAt)
		if err != nil {
			return translate(err, "user "+u.Email)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CheckInvitation returns nil if the link whose secret hashes to
// secretHash can be accepted now, else the error AcceptInvitation would
// return. It lets callers refuse a bad link before hashing a password.
func (s *Store) CheckInvitation(ctx context.Context, secretHash []byte) error {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM core.invitations i JOIN core.accounts a ON a.id = i.account_id
		WHERE i.secret_hash = $1 AND a.deleted_at IS NULL AND i.accepted_at IS NULL AND i.expires_at > now())`, secretHash).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check invitation: %w", err)
	}
	if ok {
		return nil
	}
	return s.whyNotAccepted(ctx, s.pool, secretHash)
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// whyNotAccepted says why the link cannot be accepted (q sees the state
// the caller saw).
func (s *Store) whyNotAccepted(ctx context.Context, q rowQuerier, secretHash []byte) error {
	var accepted, expired bool
	err := q.QueryRow(ctx, `SELECT i.accepted_at IS NOT NULL, i.expires_at <= now() FROM core.invitations i
		JOIN core.accounts a ON a.id = i.account_id AND a.deleted_at IS NULL WHERE i.secret_hash = $1`, secretHash).
		Scan(&accepted, &expired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return tenantry.Errorf(tenantry.ENOTFOUND, "this invitation link is not valid")
	case err != nil:
		return fmt.Errorf("accept invitation: %w", err)
	case accepted:
		return tenantry.Errorf(tenantry.ECONFLICT, "this invitation link has already been used")
	}
	return tenantry.Errorf(tenantry.ECONFLICT, "this invitation link has expired; ask for a new invitation")
}
