package handlers

import (
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

func (s *Server) issueAccountToken(w http.ResponseWriter, r *http.Request, a *tenantry.Subaccount) error {
	ttl := s.cfg.AccountTokenTTL
	if v := r.URL.Query().Get("expire"); v != "" {
		expire, err := strconv.ParseBool(v)
		if err != nil {
			return tenantry.Invalid(tenantry.FieldError{Field: "expire", Message: "must be true or false"})
		}
		if !expire {
			ttl = 0
		}
	}
	c := tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: a.PartnerID, AccountID: a.ID}
	token, exp, err := s.issuer.Issue(r.Context(), c, ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: exp})
}

// revokeSubaccountTokens revokes every non-expiring token of subaccount
// id: {"revoked": n}.
func (s *Server) revokeSubaccountTokens(w http.ResponseWriter, r *http.Request) error {
	n, err := s.store.RevokeAccountTokens(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"revoked": n})
}
