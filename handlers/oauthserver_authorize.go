package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/store"
)

// authorizeRequest is an OAuth2 authorization request (RFC 6749 4.1.1
// with PKCE, RFC 7636), from the query of GET /oauth/authorize or the
// hidden fields of the sign-in form.
type authorizeRequest struct {
	ClientID, RedirectURI, ResponseType, ResponseMode, State, Challenge, Method string
}

func readAuthorize(v url.Values) authorizeRequest {
	return authorizeRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		ResponseType: v.Get("response_type"), ResponseMode: v.Get("response_mode"), State: v.Get("state"),
		Challenge: v.Get("code_challenge"), Method: v.Get("code_challenge_method")}
}

// oauthRedirectError is an error the client hears about at its redirect
// URI (RFC 6749 4.1.2.1).
type oauthRedirectError struct{ code, description string }

// pkceChallenge is a base64url SHA-256: 43 characters.
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// checkAuthorize checks ar against its client. An unknown client or a
// redirect URI that is not exactly one the client registered is told to
// the user only (err: never redirect to an unverified URI); anything else
// wrong goes back to the client (redirect).
func (s *Server) checkAuthorize(ctx context.Context, ar authorizeRequest) (c *tenantry.OAuthClient, redirect *oauthRedirectError, err error) {
	c, _, err = s.store.OAuthClient(ctx, ar.ClientID)
	if tenantry.ErrorCode(err) == tenantry.ENOTFOUND || ar.ClientID == "" {
		return nil, nil, tenantry.Errorf(tenantry.EINVALID, "unknown client_id: the application that sent you here is not registered")
	}
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(c.RedirectURIs, ar.RedirectURI) {
		return nil, nil, tenantry.Errorf(tenantry.EINVALID, "redirect_uri is not one the application registered")
	}
	switch {
	case ar.ResponseType != "code":
		return c, &oauthRedirectError{"unsupported_response_type", "only response_type=code is supported"}, nil
	case ar.ResponseMode != "" && ar.ResponseMode != "query":
		return c, &oauthRedirectError{"invalid_request", "only response_mode=query is supported"}, nil
	case ar.Challenge == "" || ar.Method != "S256":
		return c, &oauthRedirectError{"invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256"}, nil
	case !pkceChallenge.MatchString(ar.Challenge):
		return c, &oauthRedirectError{"invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)"}, nil
	}
	return c, nil, nil
}

// redirectTo sends the browser back to the client with params and the
// request's state.
func redirectTo(w http.ResponseWriter, r *http.Request, redirectURI, state string, params url.Values) {
	u, _ := url.Parse(redirectURI) // registered, so it parses
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// authorize is GET /oauth/authorize: the sign-in page for the account's
// users, once the request is checked.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ar := readAuthorize(r.URL.Query())
	c, rerr, err := s.checkAuthorize(r.Context(), ar)
	switch {
	case err != nil:
		s.renderOAuthError(w, r, err)
	case rerr != nil:
		redirectTo(w, r, ar.RedirectURI, ar.State, url.Values{"error": {rerr.code}, "error_description": {rerr.description}})
	default:
		s.renderOAuth(w, http.StatusOK, oauthView{App: c.Name, Request: ar})
	}
}

// authorizeSubmit is POST /oauth/authorize: the sign-in form (step
// "login") or the consent form (step "consent").
func (s *Server) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderOAuthError(w, r, tenantry.Errorf(tenantry.EINVALID, "the form could not be read"))
		return
	}
	if r.PostForm.Get("step") == "consent" {
		s.consent(w, r)
		return
	}
	// Password guessing is limited per client address (one client trying
	// many people), before any other work, and per person (many clients
	// trying one).
	if err := s.limitAddress(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	ar := readAuthorize(r.PostForm)
	c, rerr, err := s.checkAuthorize(r.Context(), ar)
	switch {
	case err != nil:
		s.renderOAuthError(w, r, err)
		return
	case rerr != nil:
		redirectTo(w, r, ar.RedirectURI, ar.State, url.Values{"error": {rerr.code}, "error_description": {rerr.description}})
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if !validEmail(email) {
		s.renderOAuth(w, http.StatusBadRequest, oauthView{App: c.Name, Request: ar, Error: "Enter a valid email address."})
		return
	}
	if err := s.limit(w, r, classAuth, signInKey(c.PartnerID, email)); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.signIn(r.Context(), c.PartnerID, email, r.PostForm.Get("password"))
	if err != nil {
		s.renderOAuthError(w, r, err)
		return
	}
	if len(users) == 0 {
		s.renderOAuth(w, http.StatusUnauthorized, oauthView{App: c.Name, Request: ar, Error: "The email or password is wrong."})
		return
	}
	s.askConsent(w, r, c, ar, users)
}

// signInKey is what sign-ins as email are counted against: a hash of
// the partner and the lower-cased email, so that a counter's key has a
// fixed size whatever is typed.
func signInKey(partnerID, email string) string {
	sum := sha256.Sum256([]byte(partnerID + "\x00" + strings.ToLower(email)))
	return "login:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// wastedHash keeps a sign-in for an unknown email as slow as one for a
// known email, so timing does not tell which emails are users. Made on
// first use: an argon2id hash is too costly for every process's start.
var wastedHash = sync.OnceValue(func() string { return auth.HashPassword("tenantry: no such user") })

// signIn returns the users of the partner's accounts with that email and
// password: one person may be a user of several accounts.
func (s *Server) signIn(ctx context.Context, partnerID, email, password string) ([]store.LoginUser, error) {
	candidates, err := s.store.LoginUsers(ctx, partnerID, email)
	if err != nil || len(password) > maxPassword {
		return nil, err
	}
	if len(candidates) == 0 {
		auth.CheckPassword(wastedHash(), password)
	}
	var users []store.LoginUser
	for _, u := range candidates {
		if auth.CheckPassword(u.PasswordHash, password) {
			users = append(users, u)
		}
	}
	return users, nil
}

// consentTTL is how long a signed-in user has to answer the consent page.
const consentTTL = 10 * time.Minute

// askConsent records the signed-in request and shows the consent page.
func (s *Server) askConsent(w http.ResponseWriter, r *http.Request, c *tenantry.OAuthClient, ar authorizeRequest, users []store.LoginUser) {
	secret := newSecret()
	consent := store.Consent{ClientID: c.ID, RedirectURI: ar.RedirectURI, CodeChallenge: ar.Challenge, State: ar.State,
		ExpiresAt: time.Now().Add(consentTTL)}
	v := oauthView{App: c.Name, Consent: secret}
	for _, u := range users {
		consent.UserIDs = append(consent.UserIDs, u.ID)
		v.Accounts = append(v.Accounts, oauthAccount{UserID: u.ID, Name: u.AccountName, Role: u.Role})
	}
	if err := s.store.StartConsent(r.Context(), secretHash(secret), consent); err != nil {
		s.renderOAuthError(w, r, err)
		return
	}
	s.renderOAuth(w, http.StatusOK, v)
}

// consent answers the consent form: the code (or access_denied) goes
// back to the client. A consent is answered once.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := s.store.TakeConsent(ctx, secretHash(r.PostForm.Get("consent")))
	if err != nil {
		s.renderOAuthError(w, r, err)
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		redirectTo(w, r, c.RedirectURI, c.State, url.Values{"error": {"access_denied"}, "error_description": {"the user declined"}})
		return
	}
	userID := r.PostForm.Get("user")
	if len(c.UserIDs) == 1 && userID == "" {
		userID = c.UserIDs[0]
	}
	if !slices.Contains(c.UserIDs, userID) {
		s.renderOAuthError(w, r, tenantry.Errorf(tenantry.EINVALID, "choose one of the accounts offered"))
		return
	}
	account, err := s.store.UserAccount(ctx, userID)
	if err != nil {
		s.renderOAuthError(w, r, err)
		return
	}
	code := newSecret()
	g := store.Grant{ID: store.NewID("grt"), ClientID: c.ClientID, AccountID: account, UserID: userID,
		RedirectURI: c.RedirectURI, CodeChallenge: c.CodeChallenge}
	if err := s.store.CreateGrant(ctx, g, secretHash(code), time.Now().Add(s.cfg.OAuth.CodeTTL)); err != nil {
		s.renderOAuthError(w, r, err)
		return
	}
	redirectTo(w, r, c.RedirectURI, c.State, url.Values{"code": {code}})
}
