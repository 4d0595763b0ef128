package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
)

// keyManager admits only the credentials that may manage API keys: the
// partner token (owner) and admin keys, and tokens exchanged for them.
func (s *Server) keyManager(next http.Handler) http.Handler {
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		if !caller(r).CanManageKeys() {
			return tenantry.Errorf(tenantry.EFORBIDDEN, "managing API keys needs an owner or admin credential")
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

type createKeyRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// createdKey is a key as created: the only response that carries it.
type createdKey struct {
	*tenantry.APIKey
	Key string `json:"key"`
}

// createKey makes an API key and shows it once: 201 with "key". Role is
// admin or member (the default). Idempotency-Key is not honoured on
// purpose: the stored response would keep the key.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var in createKeyRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = tenantry.RoleMember
	}
	var errs []tenantry.FieldError
	add := func(field, msg string) { errs = append(errs, tenantry.FieldError{Field: field, Message: msg}) }
	checkText(add, "name", in.Name, 100, true)
	if in.Role != tenantry.RoleAdmin && in.Role != tenantry.RoleMember {
		add("role", "must be admin or member")
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	key, visible, hash := auth.NewAPIKey()
	k := &tenantry.APIKey{PartnerID: caller(r).PartnerID, Name: in.Name, Role: in.Role, Prefix: visible}
	if err := s.store.CreateAPIKey(r.Context(), k, hash); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdKey{APIKey: k, Key: key})
}

// listKeys lists the partner's keys, without the keys themselves.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.APIKeys(r.Context(), caller(r).PartnerID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// revokeKey revokes a key and every token exchanged for it; idempotent.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.store.RevokeAPIKey(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

// reactivateKey makes a revoked key work again; idempotent.
func (s *Server) reactivateKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.store.ReactivateAPIKey(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

// deleteKey deletes a revoked key: 204, or 409 while it is active.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteAPIKey(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
