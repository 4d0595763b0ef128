package connections

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// ErrNeedsReauth is returned when a connection's grant is gone
// (invalid_grant): only the end-customer reconnecting can fix it. It is an
// ECONFLICT (the connection's state, not the request, is at fault), which
// workers treat as permanent: retrying cannot help.
var ErrNeedsReauth = tenantry.Errorf(tenantry.ECONFLICT, "the connection needs to be authorized again")

// AccessToken returns a usable access token for OAuth connection id. It
// refreshes first when the token expires within RefreshBefore, or when
// stale is the token the caller just saw rejected (a 401) and nobody has
// refreshed since. Refreshes hold the connection's row lock: exactly one
// refresh at a time per connection across every worker, and the rotated
// refresh token is committed before the new access token is returned.
func (s *Service) AccessToken(ctx context.Context, id, stale string) (string, error) {
	return s.token(ctx, id, stale, "", false)
}

// token is AccessToken; scheduled (a refresh job) also refreshes tokens
// not refreshed for RefreshEvery, and jobID goes on the log lines.
func (s *Service) token(ctx context.Context, id, stale, jobID string, scheduled bool) (string, error) {
	var token string
	var result error
	// The provider may rotate the refresh token during the call: the
	// transaction that stores it must not be cancelled with the caller.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	msgs, err := s.store.RefreshTokens(txCtx, id, jobID, func(st *store.ConnectionState) (*store.ConnectionOutcome, error) {
		secrets, err := s.open(st.ID, st.Secrets)
		if err != nil {
			return nil, err
		}
		token = secrets["access_token"]
		if !s.refreshDue(st, token, stale, scheduled) {
			return nil, nil
		}
		o, tok, err := s.refresh(txCtx, st, secrets["refresh_token"])
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

// refreshDue decides, under the connection's lock, whether to refresh:
// the caller's token was rejected and is still the current one; or the
// token expires within RefreshBefore (a token without an expiry never
// does); or, for a scheduled refresh, it was not refreshed for
// RefreshEvery.
func (s *Service) refreshDue(st *store.ConnectionState, token, stale string, scheduled bool) bool {
	now := s.now()
	switch {
	case token == "":
		return true
	case stale != "":
		return stale == token
	case st.TokenExpiresAt != nil && st.TokenExpiresAt.Before(now.Add(s.cfg.RefreshBefore)):
		return true
	}
	last := st.CreatedAt
	if st.RefreshedAt != nil {
		last = *st.RefreshedAt
	}
	return scheduled && st.TokenExpiresAt != nil && now.Sub(last) > s.cfg.RefreshEvery
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
	if err != nil {
		return refreshFailure(err)
	}
	o, err := s.tokenOutcome(st, tok)
	if err != nil {
		return nil, "", err
	}
	o.Checked, o.Log = false, "access token refreshed"
	return &o, tok.AccessToken, nil
}

// refreshFailure is the connection's state after a failed refresh: the
// grant is gone (invalid_grant: only the end-customer can fix it), the
// OAuth client is refused (an operator or partner must fix the app), or
// the provider is unavailable (degraded; retried).
func refreshFailure(err error) (*store.ConnectionOutcome, string, error) {
	refused, reason := tokenError(err)
	switch {
	case refused == "invalid_grant":
		o := failed(tenantry.ConnNeedsReauth, "the provider no longer accepts the grant ("+reason+"); authorize again")
		return &o, "", ErrNeedsReauth
	case refused != "":
		o := failed(tenantry.ConnError, "the provider refused the OAuth client ("+reason+"); check the OAuth app's credentials")
		return &o, "", tenantry.Errorf(tenantry.EINVALID, "token refresh refused: %s", reason)
	}
	o := store.ConnectionOutcome{Status: tenantry.ConnDegraded, Reason: "token refresh failed (" + reason + "); will retry",
		Level: "warn", Log: "token refresh failed: " + reason}
	return &o, "", tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider could not refresh the token: %s", reason)
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
	_, err = s.token(ctx, p["connection_id"], "", cmd.JobID, true)
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
