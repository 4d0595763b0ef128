package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebhookURL is an account's built-in webhook URL as stored: the path
// token, sealed, and when it was last rotated.
type WebhookURL struct {
	AccountID     string
	PartnerID     string
	Token         []byte // sealed; AAD WebhookURLAAD(AccountID)
	RotatedAt     time.Time
	PreviousUntil *time.Time // the rotated-out token works until then
}

// WebhookURLAAD binds a sealed URL token to its account.
func WebhookURLAAD(accountID string) []byte { return []byte("webhook_url:" + accountID) }

const webhookURLColumns = `account_id, partner_id, token, rotated_at, previous_until`

func scanWebhookURL(row pgx.Row) (*WebhookURL, error) {
	u := &WebhookURL{}
	err := row.Scan(&u.AccountID, &u.PartnerID, &u.Token, &u.RotatedAt, &u.PreviousUntil)
	return u, err
}

// WebhookURL returns the webhook URL of account accountID of partner
// partnerID, or, when it has none yet, stores the one given (hash and
// sealed token) and returns it. ENOTFOUND if the account does not exist
// or is deleted. Safe to race: the first insert wins.
func (s *Store) WebhookURL(ctx context.Context, partnerID, accountID string, hash, sealed []byte) (*WebhookURL, error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO core.webhook_urls (account_id, partner_id, token_hash, token)
		SELECT id, partner_id, $3, $4 FROM core.accounts WHERE id = $1 AND partner_id = $2 AND deleted_at IS NULL
		ON CONFLICT (account_id) DO NOTHING`, accountID, partnerID, hash, sealed)
	var u *WebhookURL
	b.Queue(`SELECT `+webhookURLColumns+` FROM core.webhook_urls u WHERE account_id = $1 AND partner_id = $2
		AND EXISTS (SELECT 1 FROM core.accounts a WHERE a.id = u.account_id AND a.deleted_at IS NULL)`, accountID, partnerID).
		QueryRow(func(row pgx.Row) (err error) { u, err = scanWebhookURL(row); return err })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, translate(err, "account "+accountID)
	}
	return u, nil
}

// RotateWebhookURL replaces the token of account accountID's webhook URL
// with the one given; the old token keeps working until graceUntil (not
// at all if graceUntil is not after now). ENOTFOUND if the account has no
// URL yet, is deleted, or is not partnerID's.
func (s *Store) RotateWebhookURL(ctx context.Context, partnerID, accountID string, hash, sealed []byte, graceUntil time.Time) (*WebhookURL, error) {
	u, err := scanWebhookURL(s.pool.QueryRow(ctx, `UPDATE core.webhook_urls u SET previous_hash = token_hash,
		previous_until = CASE WHEN $5::timestamptz > now() THEN $5::timestamptz END,
		token_hash = $3, token = $4, rotated_at = now()
		WHERE account_id = $1 AND partner_id = $2
		AND EXISTS (SELECT 1 FROM core.accounts a WHERE a.id = u.account_id AND a.deleted_at IS NULL)
		RETURNING `+webhookURLColumns, accountID, partnerID, hash, sealed, graceUntil))
	if err != nil {
		return nil, translate(err, "webhook URL of account "+accountID)
	}
	return u, nil
}

// AccountByWebhookToken returns the partner and account whose webhook
// URL token hashes to hash: the current token, or the previous one
// within its grace period. ENOTFOUND otherwise (and for deleted
// accounts).
func (s *Store) AccountByWebhookToken(ctx context.Context, hash []byte) (partnerID, accountID string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT u.partner_id, u.account_id FROM core.webhook_urls u
		JOIN core.accounts a ON a.id = u.account_id AND a.deleted_at IS NULL
		WHERE u.token_hash = $1 OR (u.previous_hash = $1 AND u.previous_until > now())`, hash).Scan(&partnerID, &accountID)
	if err != nil {
		return "", "", translate(err, "webhook URL")
	}
	return partnerID, accountID, nil
}
