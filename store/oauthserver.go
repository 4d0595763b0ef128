package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// This file holds the OAuth2 authorization server's clients and the users
// who sign in to it; oauthserver_grants.go holds consents, codes and
// tokens.

const oauthClientColumns = `id, partner_id, name, redirect_uris, created_at`

func scanOAuthClient(row pgx.Row) (*tenantry.OAuthClient, error) {
	a := &tenantry.OAuthClient{}
	err := row.Scan(&a.ID, &a.PartnerID, &a.Name, &a.RedirectURIs, &a.CreatedAt)
	return a, err
}

// CreateOAuthClient registers a (PartnerID, Name, RedirectURIs set) with the
// hash of its secret, setting its client id and creation time.
func (s *Store) CreateOAuthClient(ctx context.Context, a *tenantry.OAuthClient, secretHash []byte) error {
	got, err := scanOAuthClient(s.pool.QueryRow(ctx, `INSERT INTO core.oauth_clients (id, partner_id, name, redirect_uris, secret_hash)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+oauthClientColumns, NewID("oac"), a.PartnerID, a.Name, a.RedirectURIs, secretHash))
	if err != nil {
		return translate(err, "oauth client")
	}
	*a = *got
	return nil
}

// OAuthClient returns client id and its secret's hash. ENOTFOUND if there is
// no such client.
func (s *Store) OAuthClient(ctx context.Context, id string) (*tenantry.OAuthClient, []byte, error) {
	a := &tenantry.OAuthClient{}
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT `+oauthClientColumns+`, secret_hash FROM core.oauth_clients WHERE id = $1`, id).
		Scan(&a.ID, &a.PartnerID, &a.Name, &a.RedirectURIs, &a.CreatedAt, &hash)
	if err != nil {
		return nil, nil, translate(err, "oauth client "+id)
	}
	return a, hash, nil
}

// OAuthClients lists a partner's apps, oldest first, a keyset page at a time.
func (s *Store) OAuthClients(ctx context.Context, partnerID string, p tenantry.Page) ([]*tenantry.OAuthClient, string, error) {
	limit := pageLimit(p)
	return listPage(ctx, s, "list oauth clients", limit, scanOAuthClient, func(a *tenantry.OAuthClient) string { return a.ID },
		`SELECT `+oauthClientColumns+` FROM core.oauth_clients WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		partnerID, p.Cursor, limit+1)
}

// DeleteOAuthClient deletes a partner's app with its grants and tokens: its
// access tokens stop working at once. ENOTFOUND if there is no such app.
func (s *Store) DeleteOAuthClient(ctx context.Context, partnerID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM core.oauth_clients WHERE id = $1 AND partner_id = $2`, id, partnerID)
	if err != nil {
		return fmt.Errorf("delete oauth client: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "oauth app %s not found", id)
	}
	return nil
}

// LoginUser is a user who may sign in to a partner's OAuth consent page,
// with what is needed to check the password and name the account.
type LoginUser struct {
	tenantry.User
	PasswordHash string
	AccountName  string
}

// LoginUsers returns the users with email (case-insensitive) in the live
// accounts of partnerID: one person may be a user of several accounts.
func (s *Store) LoginUsers(ctx context.Context, partnerID, email string) ([]LoginUser, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id, u.account_id, u.email, u.role, u.created_at, u.password_hash,
			coalesce(nullif(a.company_name, ''), a.external_id)
		FROM core.users u JOIN core.accounts a ON a.id = u.account_id
		WHERE a.partner_id = $1 AND a.deleted_at IS NULL AND lower(u.email) = lower($2) ORDER BY u.id LIMIT 20`, partnerID, email)
	if err != nil {
		return nil, fmt.Errorf("login users: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoginUser, error) {
		var u LoginUser
		err := row.Scan(&u.ID, &u.AccountID, &u.Email, &u.Role, &u.CreatedAt, &u.PasswordHash, &u.AccountName)
		return u, err
	})
}

// Consent is an authorization request whose user has signed in and is
// being asked to allow it; UserIDs are the accounts' users they proved to
// be. It is taken once.
type Consent struct {
	ClientID, RedirectURI, CodeChallenge, State string
	UserIDs                                     []string
	ExpiresAt                                   time.Time
}

// StartConsent stores c under the hash of the consent page's secret.
func (s *Store) StartConsent(ctx context.Context, hash []byte, c Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO core.oauth_consents (hash, client_id, redirect_uri, code_challenge, state, user_ids, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, hash, c.ClientID, c.RedirectURI, c.CodeChallenge, c.State, c.UserIDs, c.ExpiresAt)
	return translate(err, "consent")
}

// TakeConsent removes and returns the consent with that hash: a consent
// page is answered once. ENOTFOUND if it is unknown, taken or expired.
func (s *Store) TakeConsent(ctx context.Context, hash []byte) (Consent, error) {
	var c Consent
	err := s.pool.QueryRow(ctx, `DELETE FROM core.oauth_consents WHERE hash = $1
		RETURNING client_id, redirect_uri, code_challenge, state, user_ids, expires_at`, hash).
		Scan(&c.ClientID, &c.RedirectURI, &c.CodeChallenge, &c.State, &c.UserIDs, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && time.Now().After(c.ExpiresAt) {
		return c, tenantry.Errorf(tenantry.ENOTFOUND, "this sign-in has expired or was already answered; start again")
	}
	return c, translate(err, "consent")
}
