package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/store"
)

// AccountURL is an account's built-in webhook URL. Anyone holding it can
// post webhooks to the account, so it is shown only to the account and
// its partner, and rotated when it leaks.
type AccountURL struct {
	URL       string    `json:"url"`
	RotatedAt time.Time `json:"rotated_at"`
	// PreviousValidUntil is when the URL rotated out last stops working
	// (null: it already has).
	PreviousValidUntil *time.Time `json:"previous_valid_until"`
}

// AccountURL returns the webhook URL of account accountID of partner
// partnerID, making one on the first call. ENOTFOUND if there is no such
// account.
func (r *Receiver) AccountURL(ctx context.Context, partnerID, accountID string) (*AccountURL, error) {
	token := newToken()
	sealed, err := r.sealer.Seal([]byte(token), store.WebhookURLAAD(accountID))
	if err != nil {
		return nil, err
	}
	u, err := r.store.WebhookURL(ctx, partnerID, accountID, tokenHash(token), sealed)
	if err != nil {
		return nil, err
	}
	return r.show(u)
}

// RotateAccountURL gives account accountID a new webhook URL. The old one
// keeps working for grace (0: it stops at once), so producers can be
// moved over without losing deliveries. ENOTFOUND if there is no such
// account.
func (r *Receiver) RotateAccountURL(ctx context.Context, partnerID, accountID string, grace time.Duration) (*AccountURL, error) {
	if _, err := r.AccountURL(ctx, partnerID, accountID); err != nil {
		return nil, err
	}
	token := newToken()
	sealed, err := r.sealer.Seal([]byte(token), store.WebhookURLAAD(accountID))
	if err != nil {
		return nil, err
	}
	u, err := r.store.RotateWebhookURL(ctx, partnerID, accountID, tokenHash(token), sealed, r.now().Add(grace))
	if err != nil {
		return nil, err
	}
	r.accounts.forget()
	return r.show(u)
}

func (r *Receiver) show(u *store.WebhookURL) (*AccountURL, error) {
	token, err := r.sealer.Open(u.Token, store.WebhookURLAAD(u.AccountID))
	if err != nil {
		return nil, fmt.Errorf("open webhook URL of %s: %w", u.AccountID, err)
	}
	return &AccountURL{URL: r.cfg.PublicURL + AccountPath + string(token), RotatedAt: u.RotatedAt,
		PreviousValidUntil: u.PreviousUntil}, nil
}

// ConnectionURL returns the webhook URL of connection id, and its
// connector's webhooks section; nil when the connector takes no
// webhooks.
func (r *Receiver) ConnectionURL(id, serverType string) (string, *connectors.Webhooks) {
	d, ok := r.catalog.Get(serverType)
	if !ok || d.Webhooks == nil {
		return "", nil
	}
	return r.cfg.PublicURL + ConnectionPath + id, d.Webhooks
}

// secretField returns field of a connection's opened secrets (a JSON
// object of strings); "" when it is not set.
func secretField(raw []byte, field string) (string, error) {
	var secrets map[string]string
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return "", fmt.Errorf("decode connection secrets: %w", err)
	}
	return secrets[field], nil
}
