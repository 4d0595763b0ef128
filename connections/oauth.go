package connections

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/store"
)

// CallbackPath is where providers send the end-customer back.
const CallbackPath = "/oauth/callback"

// connectionCommand is a command about connection connID.
func connectionCommand(kind, connID, requestID string, extra map[string]string) *tenantry.Command {
	payload := map[string]string{"connection_id": connID}
	for k, v := range extra {
		payload[k] = v
	}
	raw, _ := json.Marshal(payload) // strings only: cannot fail
	return &tenantry.Command{Kind: kind, RequestID: requestID, Payload: raw}
}

// payload reads a connection command's payload.
func payload(cmd tenantry.Command) (map[string]string, error) {
	p := map[string]string{}
	if err := json.Unmarshal(cmd.Payload, &p); err != nil || p["connection_id"] == "" {
		return nil, tenantry.Errorf(tenantry.EINVALID, "command %s has no connection_id", cmd.JobID)
	}
	return p, nil
}

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

// SealOAuthApp seals a partner's OAuth client secret for the store.
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

// Callback handles the provider's redirect back to us: it consumes the
// state (once) and enqueues the code exchange, or fails the connection
// with the provider's error. The connection comes back when the state was
// known; err says, safe to show, what went wrong. Messages to publish
// come back whenever something was committed.
func (s *Service) Callback(ctx context.Context, q url.Values, requestID string) (*tenantry.Connection, *tenantry.Command, []tenantry.Message, error) {
	state := q.Get("state")
	if state == "" {
		return nil, nil, nil, tenantry.Errorf(tenantry.EINVALID, "the provider sent no state")
	}
	hash := sha256.Sum256([]byte(state))
	var r store.OAuthResult
	switch {
	case q.Get("error") != "":
		r.Denied = q.Get("error")
		if desc := q.Get("error_description"); desc != "" {
			r.Denied += " (" + truncate(desc, 200) + ")"
		}
	case q.Get("code") == "":
		r.Denied = "the provider sent neither a code nor an error"
	default:
		sealed, err := s.sealer.Seal([]byte(q.Get("code")), []byte("oauth_code:"+hex.EncodeToString(hash[:])))
		if err != nil {
			return nil, nil, nil, err
		}
		r.Exchange = &tenantry.Command{Kind: tenantry.KindOAuthExchange, RequestID: requestID}
		r.Exchange.Payload, _ = json.Marshal(map[string]any{"state_hash": hex.EncodeToString(hash[:]), "code": sealed})
	}
	conn, msgs, err := s.store.CompleteOAuth(ctx, hash[:], r)
	if err == nil && r.Denied != "" {
		err = tenantry.Errorf(tenantry.EINVALID, "the authorization was not granted: %s", r.Denied)
	}
	return conn, r.Exchange, msgs, err
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
	if refused := providerRefusal(err); refused != "" {
		return st.ID, failed(tenantry.ConnError, "the provider refused the code: "+refused), nil
	}
	if err != nil {
		return st.ID, o, tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider could not exchange the code: %v", redact(err))
	}
	o, err = s.tokenOutcome(st, tok)
	o.Log = "authorization complete; tokens stored"
	return st.ID, o, err
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
	if expiry.IsZero() {
		expiry = s.now().Add(24 * time.Hour) // unknown lifetime: refresh daily
	}
	o.TokenExpiresAt = &expiry
	return o, nil
}

// oauthContext makes x/oauth2 use the egress-guarded client.
func (s *Service) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.http.HTTPClient())
}

// providerRefusal returns the provider's OAuth error code when it refused
// (a 4xx with an error body), "" otherwise.
func providerRefusal(err error) string {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500 {
		return ""
	}
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	return fmt.Sprintf("HTTP %d", re.Response.StatusCode)
}

func failed(status, reason string) store.ConnectionOutcome {
	return store.ConnectionOutcome{Status: status, Reason: reason, Level: "error", Log: reason, Checked: true}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
