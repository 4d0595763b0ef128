package connections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/store"
)

// CallbackPath is where providers send the end-customer back.
const CallbackPath = "/oauth/callback"

// oauthConfig is connector d's OAuth client for partnerID: the partner's
// own app if it set one, else the operator's. EINVALID if neither exists.
func (s *Service) oauthConfig(ctx context.Context, partnerID string, d *connectors.Definition) (*oauth2.Config, error) {
	client, ok := s.cfg.OAuthClients[d.ID]
	app, err := s.store.PartnerOAuthApp(ctx, partnerID, d.ID)
	switch {
	case err == nil:
		secret, err := s.sealer.Open(app.Secret, []byte("oauth_app:"+partnerID+":"+d.ID))
		if err != nil {
			return nil, fmt.Errorf("open oauth app secret: %w", err)
		}
		client = Client{ID: app.ClientID, Secret: string(secret)}
	case tenantry.ErrorCode(err) != tenantry.ENOTFOUND:
		return nil, err
	case !ok:
		return nil, tenantry.Invalid(tenantry.FieldError{Field: "servertype_id",
			Message: fmt.Sprintf("connector %q has no OAuth client configured", d.ID)})
	}
	o := d.Auth.OAuth2
	style := oauth2.AuthStyleInHeader
	if o.ClientAuth == "post" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: client.ID, ClientSecret: client.Secret, Scopes: o.Scopes,
		RedirectURL: s.cfg.PublicURL + CallbackPath,
		Endpoint:    oauth2.Endpoint{AuthURL: o.AuthorizeURL, TokenURL: o.TokenURL, AuthStyle: style}}, nil
}

// SealOAuthApp seals a partner's OAuth client secret for the store,
// bound (AAD) to the partner and connector, so it opens only for them.
func (s *Service) SealOAuthApp(partnerID, serverType, clientSecret string) ([]byte, error) {
	return s.sealer.Seal([]byte(clientSecret), []byte("oauth_app:"+partnerID+":"+serverType))
}

// beginOAuth makes the authorization URL for connection connID, with a
// single-use expiring state and, if the connector supports it, PKCE.
func (s *Service) beginOAuth(ctx context.Context, partnerID string, d *connectors.Definition, connID string) (string, *store.OAuthState, error) {
	if s.cfg.PublicURL == "" {
		return "", nil, fmt.Errorf("connections: no public URL configured for OAuth callbacks")
	}
	conf, err := s.oauthConfig(ctx, partnerID, d)
	if err != nil {
		return "", nil, err
	}
	state := randomToken()
	hash := sha256.Sum256([]byte(state))
	st := &store.OAuthState{Hash: hash[:], ConnectionID: connID, RedirectURI: conf.RedirectURL,
		ExpiresAt: s.now().Add(s.cfg.StateTTL)}
	opts := []oauth2.AuthCodeOption{}
	if len(d.Auth.OAuth2.Scopes) > 0 && d.Auth.OAuth2.ScopeSeparator != " " {
		opts = append(opts, oauth2.SetAuthURLParam("scope", d.Auth.OAuth2.Scope()))
	}
	for k, v := range d.Auth.OAuth2.ExtraParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	if d.Auth.OAuth2.PKCE {
		verifier := oauth2.GenerateVerifier()
		if st.Verifier, err = s.sealer.Seal([]byte(verifier), []byte("oauth_state:"+hex.EncodeToString(hash[:]))); err != nil {
			return "", nil, err
		}
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	return conf.AuthCodeURL(state, opts...), st, nil
}

// Exchange trades the code of an exchange job for tokens, seals them and
// returns the connection's new state: active, or error with the reason
// when the provider refuses. A provider that is down is an ordinary
// (retryable) error.
func (s *Service) Exchange(ctx context.Context, cmd tenantry.Command) (connID string, o store.ConnectionOutcome, err error) {
	var p struct {
		StateHash string `json:"state_hash"`
		Code      []byte `json:"code"` // sealed; base64 in JSON
	}
	if err := json.Unmarshal(cmd.Payload, &p); err != nil {
		return "", o, tenantry.Errorf(tenantry.EINVALID, "bad exchange payload")
	}
	hash, _ := hex.DecodeString(p.StateHash)
	req, err := s.store.OAuthRequest(ctx, hash)
	if err != nil {
		return "", o, err
	}
	code, err := s.sealer.Open(p.Code, []byte("oauth_code:"+p.StateHash))
	if err != nil {
		return "", o, fmt.Errorf("open code: %w", err)
	}
	st, d, err := s.connection(ctx, req.ConnectionID)
	if err != nil {
		return "", o, err
	}
	conf, err := s.oauthConfig(ctx, st.PartnerID, d)
	if err != nil {
		return st.ID, failed(tenantry.ConnError, tenantry.ErrorMessage(err)), nil
	}
	conf.RedirectURL = req.RedirectURI // must equal the authorization request's
	opts := []oauth2.AuthCodeOption{}
	if req.Verifier != nil {
		verifier, err := s.sealer.Open(req.Verifier, []byte("oauth_state:"+p.StateHash))
		if err != nil {
			return "", o, fmt.Errorf("open verifier: %w", err)
		}
		opts = append(opts, oauth2.VerifierOption(string(verifier)))
	}
	tok, err := conf.Exchange(s.oauthContext(ctx), string(code), opts...)
	if err != nil {
		refused, reason := tokenError(err)
		if refused != "" {
			return st.ID, failed(tenantry.ConnError, "the provider refused the code: "+refused), nil
		}
		return st.ID, o, tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider could not exchange the code: %s", reason)
	}
	if o, err = s.tokenOutcome(st, tok); err != nil {
		return st.ID, o, err
	}
	return st.ID, s.checkNewTokens(ctx, d, st, tok.AccessToken, o), nil
}

// checkNewTokens runs the connector's credential check with freshly
// exchanged tokens. The tokens are kept whatever it says (the code is
// spent): the check only decides the status.
func (s *Service) checkNewTokens(ctx context.Context, d *connectors.Definition, st *store.ConnectionState,
	accessToken string, o store.ConnectionOutcome) store.ConnectionOutcome {
	o.Log = "authorization complete; tokens stored"
	if d.Check == nil {
		return o
	}
	values, err := s.values(st)
	if err == nil {
		values["access_token"] = accessToken
		var checked store.ConnectionOutcome
		if checked, err = s.check(ctx, d, values); err == nil {
			o.Status, o.Reason, o.Level = checked.Status, checked.Reason, checked.Level
			o.Log += "; " + checked.Log
			return o
		}
	}
	o.Status, o.Reason, o.Level = tenantry.ConnDegraded, "the credential check could not run: "+tenantry.ErrorMessage(err), "warn"
	o.Log += "; " + o.Reason
	return o
}

// tokenOutcome seals tok into the connection's secrets: the new state
// after a successful exchange or refresh.
func (s *Service) tokenOutcome(st *store.ConnectionState, tok *oauth2.Token) (store.ConnectionOutcome, error) {
	secrets, err := s.open(st.ID, st.Secrets)
	if err != nil {
		return store.ConnectionOutcome{}, err
	}
	secrets["access_token"] = tok.AccessToken
	if tok.RefreshToken != "" { // a provider that does not rotate keeps the old one
		secrets["refresh_token"] = tok.RefreshToken
	}
	if v, ok := tok.Extra("instance_url").(string); ok && v != "" {
		secrets["instance_url"] = v
	}
	sealed, err := s.seal(st.ID, secrets)
	if err != nil {
		return store.ConnectionOutcome{}, err
	}
	o := store.ConnectionOutcome{Status: tenantry.ConnActive, Secrets: sealed, Refreshed: true, Checked: true}
	expiry := tok.Expiry
	switch {
	case !expiry.IsZero():
		o.TokenExpiresAt = &expiry
	case secrets["refresh_token"] != "":
		expiry = s.now().Add(s.cfg.RefreshEvery) // unknown lifetime: refresh daily
		o.TokenExpiresAt = &expiry
	} // no expiry and nothing to refresh with (GitHub OAuth apps): it does not expire
	return o, nil
}

// oauthContext makes x/oauth2 use the egress-guarded client.
func (s *Service) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.http.HTTPClient())
}

// tokenError sorts an error from a token endpoint. refused is the OAuth
// error code when the provider answered a definite no (a 4xx other than
// 408 and 429), "" when it may answer yes later (down, rate-limiting,
// unreachable); reason describes it by status and code only, never the
// response body (which may echo credentials).
func tokenError(err error) (refused, reason string) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return "", redact(err).Error()
	}
	code := re.Response.StatusCode
	reason = fmt.Sprintf("HTTP %d", code)
	if re.ErrorCode != "" {
		reason += " " + oauthErrorCode(re.ErrorCode)
	}
	if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
		return "", reason
	}
	if re.ErrorCode == "" {
		return reason, reason
	}
	return oauthErrorCode(re.ErrorCode), reason
}
