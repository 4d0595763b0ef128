package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
)

// authenticate accepts "Authorization: Bearer <credential>" or "JWT
// <credential>", where the credential is an API key or a token, checks
// that it still stands (not revoked, its account not deleted), and puts
// the caller in the request context. Single-use tokens are refused here:
// only the routes behind authenticateSingleUse take them.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.authenticateWith(func(c tenantry.Caller) error {
		if c.Kind == tenantry.KindSingleUseToken {
			return tenantry.Errorf(tenantry.EFORBIDDEN, "a single-use token is accepted only by POST /api/subaccount/{id}/invitations")
		}
		return nil
	}, next)
}

// authenticateSingleUse is authenticate for the routes that require a
// single-use token and take nothing else; the handler consumes it.
func (s *Server) authenticateSingleUse(next http.Handler) http.Handler {
	return s.authenticateWith(func(c tenantry.Caller) error {
		if c.Kind != tenantry.KindSingleUseToken {
			return tenantry.Errorf(tenantry.EFORBIDDEN, "this route needs a single-use token (GET /api/subaccount/{id}/token?single_use=true)")
		}
		return nil
	}, next)
}

func (s *Server) authenticateWith(accept func(tenantry.Caller) error, next http.Handler) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		credential, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		c, err := s.verify(r.Context(), credential)
		if err != nil {
			return err
		}
		if err := accept(c); err != nil {
			return err
		}
		if !s.cors.allows(c.PartnerID, r.Header.Get("Origin")) {
			w.Header().Del("Access-Control-Allow-Origin")
		}
		next.ServeHTTP(w, r.WithContext(tenantry.WithCaller(r.Context(), c)))
		return nil
	})
}

// verify authenticates an API key (one query) or a token (its signature,
// then one query). EUNAUTHORIZED if it does not stand.
func (s *Server) verify(ctx context.Context, credential string) (tenantry.Caller, error) {
	if auth.IsAPIKey(credential) {
		return s.store.AuthenticateAPIKey(ctx, auth.HashAPIKey(credential))
	}
	c, stored, err := s.issuer.Verify(ctx, credential)
	if err != nil {
		return c, err
	}
	return c, s.store.CheckCaller(ctx, c, stored)
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
			return tenantry.Errorf(tenantry.EFORBIDDEN, "this route needs a partner credential (partner token or API key)")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}
