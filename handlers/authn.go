package handlers

import (
	"net/http"
	"strings"

	"github.com/tenantry/tenantry"
)

// authenticate accepts "Authorization: Bearer <token>" or "JWT <token>",
// verifies the token and that it still stands (not revoked, its account
// not deleted), and puts the caller in the request context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		token, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		c, stored, err := s.issuer.Verify(r.Context(), token)
		if err != nil {
			return err
		}
		if err := s.store.CheckCaller(r.Context(), c, stored); err != nil {
			return err
		}
		if !s.cors.allows(c.PartnerID, r.Header.Get("Origin")) {
			w.Header().Del("Access-Control-Allow-Origin")
		}
		next.ServeHTTP(w, r.WithContext(tenantry.WithCaller(r.Context(), c)))
		return nil
	})
}

func bearerToken(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if header == "" {
		return "", tenantry.Errorf(tenantry.EUNAUTHORIZED, "missing Authorization header")
	}
	if !ok || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "JWT")) || strings.TrimSpace(token) == "" {
		return "", tenantry.Errorf(tenantry.EUNAUTHORIZED, `Authorization must be "Bearer <token>" or "JWT <token>"`)
	}
	return strings.TrimSpace(token), nil
}

// caller returns the authenticated caller; routes behind authenticate
// always have one.
func caller(r *http.Request) tenantry.Caller {
	c, _ := tenantry.CallerFrom(r.Context())
	return c
}

// partnerOnly refuses end-customer tokens on partner routes.
func (s *Server) partnerOnly(next http.Handler) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		if !caller(r).IsPartner() {
			return tenantry.Errorf(tenantry.EFORBIDDEN, "this route needs a partner token")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}
