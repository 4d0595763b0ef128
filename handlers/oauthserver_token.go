package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// OAuthServer configures tenantry's OAuth2 authorization server. Zero
// values take the defaults.
type OAuthServer struct {
	CodeTTL    time.Duration // authorization codes; default 5m, at most 10m
	AccessTTL  time.Duration // access tokens; default 48h (expires_in 172800)
	RefreshTTL time.Duration // each refresh token, renewed at every rotation; default 30 days
}

// Validate fills defaults and checks bounds.
func (c *OAuthServer) Validate() error {
	if c.CodeTTL <= 0 {
		c.CodeTTL = 5 * time.Minute
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 48 * time.Hour
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.CodeTTL > 10*time.Minute {
		return fmt.Errorf("oauth: CodeTTL %s is over 10m", c.CodeTTL)
	}
	return nil
}

// oauthError is an error of the token and revocation endpoints, in
// OAuth's own format (RFC 6749 5.2) rather than a problem document, since
// OAuth client libraries read it.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (s *Server) writeOAuthError(w http.ResponseWriter, e oauthError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tenantry"`)
	}
	_ = writeJSON(w, e.status, e)
}

// oauthForm reads a form-encoded POST body of at most 64 KiB.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")) // parameters (charset=UTF-8) are allowed
	if err != nil || mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded"}
	}
	return r.PostForm, nil
}

// oauthClient authenticates the client: HTTP Basic, or client_id and
// client_secret in the body (RFC 6749 2.3.1), not both.
func (s *Server) oauthClient(r *http.Request, form url.Values) (*tenantry.OAuthClient, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if form.Has("client_secret") {
		if basic {
			return nil, &oauthError{http.StatusBadRequest, "invalid_request", "authenticate the client one way only"}
		}
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	refused := &oauthError{http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret"}
	c, hash, err := s.store.OAuthClient(r.Context(), id)
	if err != nil || id == "" {
		return nil, refused
	}
	if subtle.ConstantTimeCompare(secretHash(secret), hash) != 1 {
		return nil, refused
	}
	return c, nil
}

type oauthTokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// oauthToken is POST /oauth/token: authorization_code (with PKCE) and
// refresh_token grants; no implicit or password grant. Calls count
// against the client's auth quota.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	form, oerr := oauthForm(w, r)
	var c *tenantry.OAuthClient
	if oerr == nil {
		c, oerr = s.oauthClient(r, form)
	}
	if oerr != nil {
		s.writeOAuthError(w, *oerr)
		return
	}
	if err := s.limit(w, r, classAuth, "client:"+c.ID); err != nil {
		s.writeOAuthError(w, oauthError{http.StatusTooManyRequests, "slow_down", tenantry.ErrorMessage(err)})
		return
	}
	if oerr = s.grant(w, r, c, form); oerr != nil {
		s.writeOAuthError(w, *oerr)
	}
}

var invalidGrant = &oauthError{http.StatusBadRequest, "invalid_grant",
	"the authorization code or refresh token is invalid, expired, used or revoked"}

// grant redeems a code or rotates a refresh token. The new refresh token
// and the access token's record are stored in the transaction that spends
// the code or token (the access token is signed inside it: signing does
// no I/O), so a failure leaves the code or token unspent and the client's
// retry is not mistaken for reuse.
func (s *Server) grant(w http.ResponseWriter, r *http.Request, c *tenantry.OAuthClient, form url.Values) *oauthError {
	ctx := r.Context()
	refresh := newSecret()
	var access string
	issue := store.GrantTokens{RefreshHash: secretHash(refresh), RefreshExpires: time.Now().Add(s.cfg.OAuth.RefreshTTL),
		Access: func(g *store.Grant) (store.TokenRecord, error) {
			t, err := s.issuer.Sign(tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: g.PartnerID,
				AccountID: g.AccountID, GrantID: g.ID}, s.cfg.OAuth.AccessTTL)
			if err != nil {
				return store.TokenRecord{}, err
			}
			access = t.Token
			return *t.Record, nil // an OAuth access token is always recorded
		}}
	var err error
	switch form.Get("grant_type") {
	case "authorization_code":
		verify := func(g *store.Grant) bool {
			return g.RedirectURI == form.Get("redirect_uri") && pkceVerifies(form.Get("code_verifier"), g.CodeChallenge)
		}
		_, err = s.store.RedeemCode(ctx, c.ID, secretHash(form.Get("code")), verify, issue)
	case "refresh_token":
		_, err = s.store.RotateRefreshToken(ctx, c.ID, secretHash(form.Get("refresh_token")), issue)
	case "":
		return &oauthError{http.StatusBadRequest, "invalid_request", "grant_type is required"}
	default:
		return &oauthError{http.StatusBadRequest, "unsupported_grant_type", "use authorization_code or refresh_token"}
	}
	if err != nil {
		return s.grantError(r, err)
	}
	_ = writeJSON(w, http.StatusOK, oauthTokens{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.OAuth.AccessTTL / time.Second), RefreshToken: refresh})
	return nil
}

// grantError is invalid_grant for a grant that does not work, and a
// logged server_error for anything else.
func (s *Server) grantError(r *http.Request, err error) *oauthError {
	if tenantry.ErrorCode(err) == tenantry.EUNAUTHORIZED {
		return invalidGrant
	}
	s.log.Error("oauth token endpoint", zap.String("request_id", requestID(r.Context())), zap.Error(err))
	return &oauthError{http.StatusInternalServerError, "server_error", "internal error"}
}

// pkceVerifies checks an S256 code verifier (RFC 7636 4.1: 43–128
// unreserved characters) against the challenge.
func pkceVerifies(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, r := range verifier {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_' || r == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// oauthRevoke is POST /oauth/revoke (RFC 7009): the client revokes one of
// its refresh tokens (and with it the grant's family) or access tokens.
// The answer is 200 whether or not the token was the client's, so it
// tells nothing about tokens.
func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request) {
	form, oerr := oauthForm(w, r)
	var c *tenantry.OAuthClient
	if oerr == nil {
		c, oerr = s.oauthClient(r, form)
	}
	if oerr == nil && form.Get("token") == "" {
		oerr = &oauthError{http.StatusBadRequest, "invalid_request", "token is required"}
	}
	if oerr != nil {
		s.writeOAuthError(w, *oerr)
		return
	}
	if err := s.revokeOAuthToken(r, c, form.Get("token")); err != nil {
		s.writeOAuthError(w, *s.grantError(r, err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revokeOAuthToken(r *http.Request, c *tenantry.OAuthClient, token string) error {
	ctx := r.Context()
	found, err := s.store.RevokeRefreshToken(ctx, c.ID, secretHash(token))
	if found || err != nil {
		return err
	}
	caller, _, verr := s.issuer.Verify(ctx, token)
	if verr != nil || caller.GrantID == "" {
		return nil // not a token of ours that works: nothing to revoke
	}
	_, err = s.store.RevokeAccessToken(ctx, c.ID, caller.TokenID)
	return err
}
