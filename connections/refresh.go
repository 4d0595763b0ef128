package connections

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// ErrNeedsReauth is returned when a connection's grant is gone
// (invalid_grant): only the end-customer reconnecting can fix it.
var ErrNeedsReauth = tenantry.Errorf(tenantry.ECONFLICT, "the connection needs to be authorized again")

// AccessToken returns a usable access token for OAuth connection id. It
// refreshes first when the token expires within RefreshBefore, or when
// stale is the token the caller just saw rejected (a 401) and nobody has
// refreshed since. Refreshes hold the connection's row lock: exactly one
// refresh at a time per connection across every worker, and the rotated
// refresh token is committed before the new access token is returned.
func (s *Service) AccessToken(ctx context.Context, id, stale string) (string, error) {
	var token string
	var result error
	msgs, err := s.store.RefreshTokens(ctx, id, "", func(st *store.ConnectionState) (*store.ConnectionOutcome, error) {
		secrets, err := s.open(st.ID, st.Secrets)
		if err != nil {
			return nil, err
		}
		token = secrets["access_token"]
		fresh := st.TokenExpiresAt != nil && st.TokenExpiresAt.After(s.now().Add(s.cfg.RefreshBefore))
		if token != "" && (stale == "" && fresh || stale != "" && stale != token) {
			return nil, nil // still good, or someone refreshed it meanwhile
		}
		o, tok, err := s.refresh(ctx, st, secrets["refresh_token"])
		result = err
		if tok != "" {
			token = tok
		}
		return o, nil
	})
	s.publish(ctx, msgs)
	if err != nil {
		return "", err
	}
	return token, result
}

// refresh calls the provider's token endpoint. It returns the outcome to
// store (new tokens; needs_reauth when the grant is gone; degraded when
// the provider is down) and, on success, the new access token.
func (s *Service) refresh(ctx context.Context, st *store.ConnectionState, refreshToken string) (*store.ConnectionOutcome, string, error) {
	d, ok := s.catalog.Get(st.ServerTypeID)
	if !ok || refreshToken == "" {
		o := failed(tenantry.ConnNeedsReauth, "no refresh token; authorize the connection again")
		return &o, "", ErrNeedsReauth
	}
	conf, err := s.oauthConfig(ctx, st.PartnerID, d)
	if err != nil {
		return nil, "", err
	}
	tok, err := conf.TokenSource(s.oauthContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if refused := providerRefusal(err); refused != "" {
		o := failed(tenantry.ConnNeedsReauth, "the provider refused to refresh the token ("+refused+"); authorize again")
		return &o, "", ErrNeedsReauth
	}
	if err != nil {
		o := store.ConnectionOutcome{Status: tenantry.ConnDegraded, Reason: "token refresh failed; will retry",
			Level: "warn", Log: "token refresh failed: " + redact(err).Error()}
		return &o, "", tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider could not refresh the token: %v", redact(err))
	}
	o, err := s.tokenOutcome(st, tok)
	if err != nil {
		return nil, "", err
	}
	o.Checked, o.Log = false, "access token refreshed"
	return &o, tok.AccessToken, nil
}

// Refresh runs a scheduled refresh job: the token is refreshed if it is
// due (another worker may have done it already). A connection whose grant
// is gone ends in needs_reauth, which finishes the job; a provider that
// is down is retried.
func (s *Service) Refresh(ctx context.Context, cmd tenantry.Command) error {
	p, err := payload(cmd)
	if err != nil {
		return err
	}
	_, err = s.AccessToken(ctx, p["connection_id"], "")
	if errors.Is(err, ErrNeedsReauth) {
		return nil
	}
	return err
}

// publish sends the events of the service's own transactions (refreshes
// outside a job); the scheduler's relay sends what fails here.
func (s *Service) publish(ctx context.Context, msgs []tenantry.Message) {
	if _, err := s.store.Send(ctx, s.pub, msgs...); err != nil {
		s.log.Warn("publish after commit failed; the scheduler will re-publish", zap.Error(err))
	}
}
