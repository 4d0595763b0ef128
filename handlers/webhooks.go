package handlers

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/webhook"
)

// UseWebhooks turns on webhook ingress (/hooks/…) and the webhook routes
// of the API (/api/webhooks…), served by rcv. Call it before Router.
func (s *Server) UseWebhooks(rcv *webhook.Receiver) { s.hooks = rcv }

// receiveWebhook answers a producer's POST: 202 once JetStream has
// acknowledged the webhook, 503 with Retry-After when it could not, 401
// or 400 for a request that fails its signature check, 413 for a body
// over the limit. resolve finds the target from the URL's key.
func (s *Server) receiveWebhook(resolve func(ctx context.Context, key string) (*webhook.Target, error), key string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := s.acceptWebhook(w, r, resolve, chi.URLParam(r, key))
		if tenantry.ErrorCode(err) == tenantry.EUNAVAILABLE {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.hooks.Config().RetryAfter.Seconds())))
		}
		return err
	}
}

func (s *Server) acceptWebhook(w http.ResponseWriter, r *http.Request,
	resolve func(ctx context.Context, key string) (*webhook.Target, error), key string) error {
	t, err := resolve(r.Context(), key)
	if err != nil {
		if tenantry.ErrorCode(err) == tenantry.EUNAUTHORIZED {
			s.logRejected(r, &webhook.Target{}, err)
		}
		return err
	}
	body, err := readBody(w, r, s.hooks.Config().MaxBodyBytes)
	if err != nil {
		s.logRejected(r, t, err)
		return err
	}
	ev, err := s.hooks.Accept(r.Context(), t, webhook.Inbound{Header: r.Header, Body: body, Query: r.URL.RawQuery,
		RequestID: requestID(r.Context())})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"id": ev.ID, "webhook_id": ev.WebhookID})
}

// logRejected logs a refused webhook; verification failures are logged
// by the receiver, which knows more.
func (s *Server) logRejected(r *http.Request, t *webhook.Target, err error) {
	s.log.Warn("webhook rejected", zap.String("request_id", requestID(r.Context())), zap.String("route", chi.RouteContext(r.Context()).RoutePattern()),
		zap.String("account_id", t.AccountID), zap.String("connection_id", t.ConnectionID), zap.String("reason", tenantry.ErrorMessage(err)))
}

// webhookAccount is the account a webhook route is about: an
// end-customer's own, or the one a partner names by subaccount_id.
func (s *Server) webhookAccount(r *http.Request, named string) (partnerID, accountID string, err error) {
	c := caller(r)
	switch {
	case c.AccountID != "" && (named == "" || named == c.AccountID):
		return c.PartnerID, c.AccountID, nil
	case c.AccountID != "":
		return "", "", tenantry.Errorf(tenantry.ENOTFOUND, "subaccount %s not found", named)
	case named == "":
		return "", "", tenantry.Invalid(tenantry.FieldError{Field: "subaccount_id", Message: "is required with a partner token"})
	}
	if _, err := s.store.Subaccount(r.Context(), c, named); err != nil {
		return "", "", err
	}
	return c.PartnerID, named, nil
}

// webhooksResponse is an account's webhook URLs: its own, and one per
// connection whose connector takes webhooks; and the interface whose
// handler(request) runs for each webhook (null: none).
type webhooksResponse struct {
	AccountID string `json:"subaccount_id"`
	*webhook.AccountURL
	HandlerInterfaceID *string         `json:"handler_interface_id"`
	Servers            []serverWebhook `json:"servers"`
}

type serverWebhook struct {
	ID           string `json:"server_id"`
	ServerTypeID string `json:"servertype_id"`
	Name         string `json:"name"`
	URL          string `json:"url"`
	Scheme       string `json:"scheme"`       // standard_webhooks, or hmac-<algorithm>
	SecretField  string `json:"secret_field"` // the connect-form field to put the provider's signing secret in
}

// getWebhooks shows the account's webhook URLs (made on first use).
func (s *Server) getWebhooks(w http.ResponseWriter, r *http.Request) error {
	pid, aid, err := s.webhookAccount(r, r.URL.Query().Get("subaccount_id"))
	if err != nil {
		return err
	}
	u, err := s.hooks.AccountURL(r.Context(), pid, aid)
	if err != nil {
		return err
	}
	return s.writeWebhooks(w, r, pid, aid, u, http.StatusOK)
}

func (s *Server) writeWebhooks(w http.ResponseWriter, r *http.Request, pid, aid string, u *webhook.AccountURL, status int) error {
	resp := webhooksResponse{AccountID: aid, AccountURL: u, Servers: []serverWebhook{}}
	handler, err := s.store.WebhookHandlerID(r.Context(), aid)
	if err != nil {
		return err
	}
	if handler != "" {
		resp.HandlerInterfaceID = &handler
	}
	scope := tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: pid, AccountID: aid}
	for page := (tenantry.Page{Limit: maxLimit}); ; {
		conns, next, err := s.store.Connections(r.Context(), scope, page)
		if err != nil {
			return err
		}
		for _, c := range conns {
			if url, spec := s.hooks.ConnectionURL(c.ID, c.ServerTypeID); spec != nil {
				resp.Servers = append(resp.Servers, serverWebhook{ID: c.ID, ServerTypeID: c.ServerTypeID, Name: c.Name,
					URL: url, Scheme: spec.String(), SecretField: spec.Secret})
			}
		}
		if next == "" {
			return writeJSON(w, status, resp)
		}
		page.Cursor = next
	}
}

// putWebhookHandler sets the interface whose handler(request) runs for
// each of the account's webhooks; body {"subaccount_id",
// "handler_interface_id"}, null (or absent) to run none. 200 with the
// account's webhooks; 400 naming handler_interface_id for an interface
// that is not the account's, does not compile or defines no handler.
func (s *Server) putWebhookHandler(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		AccountID          string  `json:"subaccount_id"`
		HandlerInterfaceID *string `json:"handler_interface_id"`
	}
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &body); err != nil {
		return err
	}
	pid, aid, err := s.webhookAccount(r, body.AccountID)
	if err != nil {
		return err
	}
	id := deref(body.HandlerInterfaceID)
	if id != "" {
		if err := s.checkWebhookHandler(r, pid, aid, id); err != nil {
			return err
		}
	}
	if err := s.store.SetWebhookHandler(r.Context(), pid, aid, id); err != nil {
		return err
	}
	u, err := s.hooks.AccountURL(r.Context(), pid, aid)
	if err != nil {
		return err
	}
	return s.writeWebhooks(w, r, pid, aid, u, http.StatusOK)
}

// checkWebhookHandler refuses an interface that is not account aid's,
// does not compile (stored before a change of dialect, say) or defines
// no handler(request), naming handler_interface_id.
func (s *Server) checkWebhookHandler(r *http.Request, pid, aid, id string) error {
	return s.checkHandler(r.Context(), tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: pid, AccountID: aid},
		id, "handler_interface_id")
}

// rotateWebhookURL gives the account a new URL; body (optional)
// {"subaccount_id", "grace_seconds"}: how long the old one keeps
// working, 0 (the default) to 604800.
func (s *Server) rotateWebhookURL(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		AccountID    string `json:"subaccount_id"`
		GraceSeconds int    `json:"grace_seconds"`
	}
	if err := decodeOptionalJSON(w, r, s.cfg.MaxBodyBytes, &body); err != nil {
		return err
	}
	if body.GraceSeconds < 0 || body.GraceSeconds > 7*24*3600 {
		return tenantry.Invalid(tenantry.FieldError{Field: "grace_seconds", Message: "must be from 0 to 604800 (7 days)"})
	}
	pid, aid, err := s.webhookAccount(r, body.AccountID)
	if err != nil {
		return err
	}
	u, err := s.hooks.RotateAccountURL(r.Context(), pid, aid, time.Duration(body.GraceSeconds)*time.Second)
	if err != nil {
		return err
	}
	return s.writeWebhooks(w, r, pid, aid, u, http.StatusOK)
}

// listWebhookEvents lists received webhooks, oldest first: ?server_id=,
// ?subaccount_id= (partners), ?status=, ?since= and ?until= (RFC 3339),
// ?limit=, ?cursor=.
func (s *Server) listWebhookEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := webhookFilter(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.WebhookEvents(r.Context(), caller(r), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

func webhookFilter(r *http.Request) (tenantry.WebhookFilter, error) {
	page, err := parsePage(r)
	if err != nil {
		return tenantry.WebhookFilter{}, err
	}
	q := r.URL.Query()
	f := tenantry.WebhookFilter{AccountID: q.Get("subaccount_id"), ConnectionID: q.Get("server_id"), Status: q.Get("status"), Page: page}
	var errs []tenantry.FieldError
	switch f.Status {
	case "", tenantry.WebhookReceived, tenantry.WebhookProcessed, tenantry.WebhookFailed:
	default:
		errs = append(errs, tenantry.FieldError{Field: "status", Message: "must be received, processed or failed"})
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			if *t.dst, err = time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, tenantry.FieldError{Field: t.name, Message: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
			}
		}
	}
	if len(errs) > 0 {
		return f, tenantry.Invalid(errs...)
	}
	return f, nil
}

// webhookEventResponse is one webhook with its body: as text when it is
// UTF-8, else base64.
type webhookEventResponse struct {
	*tenantry.WebhookEvent
	Body       *string `json:"body"`
	BodyBase64 *string `json:"body_base64,omitempty"`
}

func (s *Server) getWebhookEvent(w http.ResponseWriter, r *http.Request) error {
	ev, err := s.store.WebhookEvent(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	resp := webhookEventResponse{WebhookEvent: ev}
	if utf8.Valid(ev.Body) {
		text := string(ev.Body)
		resp.Body = &text
	} else {
		b64 := base64.StdEncoding.EncodeToString(ev.Body)
		resp.BodyBase64 = &b64
	}
	return writeJSON(w, http.StatusOK, resp)
}
