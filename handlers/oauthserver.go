package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
)

// This file holds the registration of third-party apps with tenantry's
// OAuth2 authorization server (POST/GET/DELETE /api/oauth/apps);
// oauthserver_authorize.go holds the sign-in and consent pages and
// oauthserver_token.go the token and revocation endpoints.

type oauthClientRequest struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
}

// createdOAuthClient is an app as registered: the only response that
// carries its secret.
type createdOAuthClient struct {
	*tenantry.OAuthClient
	ClientSecret string `json:"client_secret"`
}

// createOAuthClient registers a third-party app: 201 with its client_id
// and client_secret (shown once). Owner and admin credentials only.
func (s *Server) createOAuthClient(w http.ResponseWriter, r *http.Request) error {
	var in oauthClientRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := validateOAuthClient(in); err != nil {
		return err
	}
	secret := newSecret()
	c := &tenantry.OAuthClient{PartnerID: caller(r).PartnerID, Name: in.Name, RedirectURIs: in.RedirectURIs}
	if err := s.store.CreateOAuthClient(r.Context(), c, secretHash(secret)); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdOAuthClient{OAuthClient: c, ClientSecret: secret})
}

func validateOAuthClient(in oauthClientRequest) error {
	var errs []tenantry.FieldError
	add := func(field, msg string) { errs = append(errs, tenantry.FieldError{Field: field, Message: msg}) }
	checkText(add, "name", in.Name, 100, true)
	if len(in.RedirectURIs) == 0 || len(in.RedirectURIs) > 10 {
		add("redirect_uris", "must list 1 to 10 redirect URIs")
	}
	for _, u := range in.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			add("redirect_uris", msg)
			break
		}
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	return nil
}

// checkRedirectURI says what is wrong with a redirect URI to register, or
// "". It must be absolute https (http only on loopback, for development),
// with no fragment and no user info; it is matched exactly, character for
// character, at authorization.
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2000 || u.Host == "":
		return "must be absolute URLs such as https://app.example/callback"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment"
	case u.User != nil:
		return "must not carry user info"
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
	default:
		return "must use https (http only for localhost)"
	}
	return ""
}

// listOAuthClients lists the partner's apps, without their secrets.
func (s *Server) listOAuthClients(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.OAuthClients(r.Context(), caller(r).PartnerID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// deleteOAuthClient deletes an app and everything it was granted: its
// access and refresh tokens stop working at once. 204.
func (s *Server) deleteOAuthClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteOAuthClient(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
