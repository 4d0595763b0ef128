package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/web"
)

// oauthCallback is where the provider sends the end-customer's popup
// back. It consumes the state, queues the code exchange (or records the
// refusal), and renders a page that closes the popup. The app polls the
// connection for the outcome.
func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.conns.Callback(r.Context(), r.URL.Query(), requestID(r.Context()))
	s.accept(r.Context(), msgs...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	status, message := http.StatusOK, "You can close this window; the app will show the connection."
	if err != nil {
		// The popup always gets the page, never a problem document;
		// internal causes are logged, not shown.
		status, message = statuses[tenantry.ErrorCode(err)], tenantry.ErrorMessage(err)
		if tenantry.ErrorCode(err) == tenantry.EINTERNAL {
			s.log.Error("oauth callback", zap.String("request_id", requestID(r.Context())), zap.Error(err))
			message = "Something went wrong on our side; please try connecting again."
		}
	}
	w.WriteHeader(status)
	_ = web.Callback(w, err == nil, message)
}

type oauthAppRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// putOAuthApp sets the partner's own OAuth client for a connector, used
// instead of the operator's for the partner's end-customers (their brand
// on the consent screen). The secret is sealed and never returned.
func (s *Server) putOAuthApp(w http.ResponseWriter, r *http.Request) error {
	var in oauthAppRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	var errs []tenantry.FieldError
	if in.ClientID == "" || len(in.ClientID) > 512 {
		errs = append(errs, tenantry.FieldError{Field: "client_id", Message: "is required (at most 512 characters)"})
	}
	if in.ClientSecret == "" || len(in.ClientSecret) > 2048 {
		errs = append(errs, tenantry.FieldError{Field: "client_secret", Message: "is required (at most 2048 characters)"})
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	serverType := chi.URLParam(r, "servertype")
	if d, ok := s.conns.Catalog().Get(serverType); !ok || d.Auth.OAuth2 == nil {
		return tenantry.Errorf(tenantry.ENOTFOUND, "no OAuth connector %q", serverType)
	}
	partner := caller(r).PartnerID
	sealed, err := s.conns.SealOAuthApp(partner, serverType, in.ClientSecret)
	if err != nil {
		return err
	}
	app := &store.OAuthApp{ServerTypeID: serverType, ClientID: in.ClientID, Secret: sealed}
	if err := s.store.SetOAuthApp(r.Context(), partner, app); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (s *Server) listOAuthApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.store.OAuthApps(r.Context(), caller(r).PartnerID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(apps, ""))
}

func (s *Server) deleteOAuthApp(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteOAuthApp(r.Context(), caller(r).PartnerID, chi.URLParam(r, "servertype")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
