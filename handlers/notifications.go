package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// UseNotifications turns on the partner notification routes
// (/api/notifications/…); sealer seals each endpoint's signing secret.
// Call it before Router.
func (s *Server) UseNotifications(sealer *secret.Sealer) { s.notifySealer = sealer }

// notificationRoutes are the partner-only notification routes.
func (s *Server) notificationRoutes(r chi.Router) {
	r.Use(s.partnerOnly)
	// Not idempotent: the stored response would keep the signing secret
	// unsealed (as for API keys).
	r.Post("/endpoints", s.wrap(s.createNotificationEndpoint))
	r.Get("/endpoints", s.wrap(s.listNotificationEndpoints))
	r.Get("/endpoints/{id}", s.wrap(s.getNotificationEndpoint))
	r.Delete("/endpoints/{id}", s.wrap(s.deleteNotificationEndpoint))
	r.Post("/endpoints/{id}/enable", s.wrap(s.enableNotificationEndpoint))
	r.Get("/deliveries", s.wrap(s.listNotificationDeliveries))
	r.Get("/deliveries/{id}", s.wrap(s.getNotificationDelivery))
	r.Post("/deliveries/{id}/retry", s.wrap(s.retryNotificationDelivery))
}

// createNotificationEndpoint registers {url, events[]} and answers 201 with the
// endpoint and its signing secret, shown this once.
func (s *Server) createNotificationEndpoint(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &body); err != nil {
		return err
	}
	if err := validateNotificationEndpoint(body.URL, body.Events); err != nil {
		return err
	}
	e := &tenantry.NotificationEndpoint{ID: store.NewEndpointID(), PartnerID: caller(r).PartnerID, URL: body.URL,
		Events: slices.Compact(slices.Sorted(slices.Values(body.Events)))}
	secret := webhook.NewSecret()
	sealed, err := s.notifySealer.Seal([]byte(secret), store.NotificationSecretAAD(e.ID))
	if err != nil {
		return err
	}
	if err := s.store.CreateNotificationEndpoint(r.Context(), e, sealed); err != nil {
		return err
	}
	e.Secret = secret
	w.Header().Set("Location", "/api/notifications/endpoints/"+e.ID)
	return writeJSON(w, http.StatusCreated, e)
}

// validateNotificationEndpoint checks an endpoint's URL and event types, naming
// every field at fault.
func validateNotificationEndpoint(raw string, evts []string) error {
	var errs []tenantry.FieldError
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		errs = append(errs, tenantry.FieldError{Field: "url", Message: "must be an absolute https (or http) URL of at most 2000 characters"})
	}
	if len(evts) == 0 {
		errs = append(errs, tenantry.FieldError{Field: "events", Message: `is required: event types such as server.needs_reauth, or "*" for all`})
	}
	for i, e := range evts {
		if !tenantry.Notifiable(e) {
			errs = append(errs, tenantry.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: fmt.Sprintf("%q is not an event type partners are notified of", e)})
		}
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	return nil
}

func (s *Server) listNotificationEndpoints(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.NotificationEndpoints(r.Context(), caller(r).PartnerID, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func (s *Server) getNotificationEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.NotificationEndpoint(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// deleteNotificationEndpoint deletes an endpoint; its pending deliveries fail.
func (s *Server) deleteNotificationEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteNotificationEndpoint(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// enableNotificationEndpoint makes an endpoint disabled by a 410 active again.
func (s *Server) enableNotificationEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.EnableNotificationEndpoint(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// listNotificationDeliveries lists deliveries, oldest first: ?endpoint_id=,
// ?status= (pending, succeeded, failed), ?limit=, ?cursor=.
func (s *Server) listNotificationDeliveries(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	f := tenantry.DeliveryFilter{EndpointID: r.URL.Query().Get("endpoint_id"), Status: r.URL.Query().Get("status"), Page: page}
	switch f.Status {
	case "", tenantry.DeliveryPending, tenantry.DeliverySucceeded, tenantry.DeliveryFailed:
	default:
		return tenantry.Invalid(tenantry.FieldError{Field: "status", Message: "must be pending, succeeded or failed"})
	}
	items, next, err := s.store.NotificationDeliveries(r.Context(), caller(r).PartnerID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// getNotificationDelivery shows a delivery with every attempt.
func (s *Server) getNotificationDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.NotificationDelivery(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// retryNotificationDelivery makes a delivery due now (202): one more attempt for a
// failed one. 409 if it succeeded or its endpoint is disabled.
func (s *Server) retryNotificationDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.RetryNotificationDelivery(r.Context(), caller(r).PartnerID, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}
