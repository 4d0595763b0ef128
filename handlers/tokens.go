package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
)

type tokenResponse struct {
	Token     string     `json:"token"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// subaccountToken issues an end-customer token for subaccount id: 1 hour
// for client-side use, or non-expiring and revocable with ?expire=false.
func (s *Server) subaccountToken(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.Subaccount(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return s.issueAccountToken(w, r, a)
}

// subaccountTokenByExternalID is subaccountToken addressed by the
// partner's own id: ?external_id=.
func (s *Server) subaccountTokenByExternalID(w http.ResponseWriter, r *http.Request) error {
	ext := r.URL.Query().Get("external_id")
	if ext == "" {
		return tenantry.Invalid(tenantry.FieldError{Field: "external_id", Message: "is required"})
	}
	items, _, err := s.store.Subaccounts(r.Context(), caller(r),
		tenantry.SubaccountFilter{ExternalID: ext, Page: tenantry.Page{Limit: 1}})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return tenantry.Errorf(tenantry.ENOTFOUND, "no subaccount with external_id %q", ext)
	}
	return s.issueAccountToken(w, r, items[0])
}

// issueAccountToken answers with a token for account a: for client-side
// use (AccountTokenTTL), non-expiring with expire=false, or single-use
// (SingleUseTTL, accepted only where a route requires one) with
// single_use=true. A token minted by an API key (used directly or
// exchanged) is recorded with the key, whatever its kind, and dies with
// it: revoking a key leaves nothing it minted working.
func (s *Server) issueAccountToken(w http.ResponseWriter, r *http.Request, a *tenantry.Subaccount) error {
	q := r.URL.Query()
	expire, err := boolParam(q.Get("expire"), "expire", true)
	if err != nil {
		return err
	}
	singleUse, err := boolParam(q.Get("single_use"), "single_use", false)
	if err != nil {
		return err
	}
	c := tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: a.PartnerID, AccountID: a.ID, KeyID: caller(r).KeyID}
	ttl := s.cfg.AccountTokenTTL
	switch {
	case singleUse && !expire:
		return tenantry.Invalid(tenantry.FieldError{Field: "expire", Message: "a single-use token always expires"})
	case singleUse:
		c.Kind, ttl = tenantry.KindSingleUseToken, s.cfg.SingleUseTTL
	case !expire:
		ttl = 0
	}
	token, exp, err := s.issuer.Issue(r.Context(), c, ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: exp})
}

// revokeSubaccountTokens revokes every recorded token of subaccount id
// (non-expiring, minted by an API key, OAuth access tokens):
// {"revoked": n}.
func (s *Server) revokeSubaccountTokens(w http.ResponseWriter, r *http.Request) error {
	n, err := s.store.RevokeAccountTokens(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"revoked": n})
}

// boolParam parses an optional boolean query parameter.
func boolParam(v, field string, def bool) (bool, error) {
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, tenantry.Invalid(tenantry.FieldError{Field: field, Message: "must be true or false"})
	}
	return b, nil
}

type exchangeResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
	ExpiresIn int    `json:"expires_in"`
}

// exchangeKey trades the API key that authenticated the request for a
// token of KeyTokenTTL (1 h) with the key's partner and role. The token
// is reusable until it expires, and stops working as soon as the key is
// revoked. Tokens cannot be exchanged: 403.
func (s *Server) exchangeKey(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if !c.APIKey {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "only an API key can be exchanged for a token")
	}
	token, _, err := s.issuer.Issue(r.Context(), c, s.cfg.KeyTokenTTL)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, exchangeResponse{Token: token, TokenType: "Bearer", ExpiresIn: int(s.cfg.KeyTokenTTL / time.Second)})
}

// maxSingleUseTTL bounds SingleUseTTL: a single-use token is for one
// action the user is taking now.
const maxSingleUseTTL = 15 * time.Minute

// newSecret returns 256 random bits, URL-safe: invitation links, OAuth
// client secrets, codes and refresh tokens. Only secretHash(secret) is
// stored.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretHash is what is stored of a secret from newSecret: its SHA-256
// (the secret is random, so a slow hash adds nothing).
func secretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
