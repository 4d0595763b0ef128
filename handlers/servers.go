package handlers

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
)

// serverResponse is a connection as the API shows it, with what started
// its verification.
type serverResponse struct {
	*tenantry.Connection
	JobID    string `json:"job_id,omitempty"`
	OAuthURL string `json:"oauth_url,omitempty"`
}

func started(st *connections.Started) serverResponse {
	return serverResponse{Connection: st.Connection, JobID: st.JobID, OAuthURL: st.OAuthURL}
}

// listServerTypes is the connector catalog, each with its connect form.
func (s *Server) listServerTypes(w http.ResponseWriter, r *http.Request) error {
	defs := s.conns.Catalog().List()
	items := make([]any, 0, len(defs))
	for _, d := range defs {
		items = append(items, d.Public())
	}
	return writeJSON(w, http.StatusOK, list[any]{Items: items})
}

// serverForm reads a connect-form body: servertype_id and name, and
// everything else as form values for the connector to validate.
func (s *Server) serverForm(w http.ResponseWriter, r *http.Request, needType bool) (serverType string, name *string, form map[string]any, err error) {
	form = map[string]any{}
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &form); err != nil {
		return "", nil, nil, err
	}
	if v, ok := form["servertype_id"]; ok || needType {
		if serverType, ok = v.(string); !ok || serverType == "" {
			return "", nil, nil, tenantry.Invalid(tenantry.FieldError{Field: "servertype_id", Message: "is required: a connector id from GET /api/servertypes"})
		}
		if !needType {
			return "", nil, nil, tenantry.Invalid(tenantry.FieldError{Field: "servertype_id", Message: "cannot be changed"})
		}
	}
	if v, ok := form["name"]; ok {
		n, isString := v.(string)
		if !isString {
			return "", nil, nil, tenantry.Invalid(tenantry.FieldError{Field: "name", Message: "must be a string"})
		}
		name = &n
	}
	delete(form, "servertype_id")
	delete(form, "name")
	return serverType, name, form, nil
}

// createServer starts an end-customer's connection: 202 with a check job,
// or with oauth_url for the popup.
func (s *Server) createServer(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c.AccountID == "" {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "connections are made with the end-customer's token (GET /api/subaccount/{id}/token)")
	}
	serverType, name, form, err := s.serverForm(w, r, true)
	if err != nil {
		return err
	}
	if name == nil {
		name = new(string)
	}
	st, err := s.conns.Create(r.Context(), c, serverType, *name, form, requestID(r.Context()))
	if err != nil {
		return err
	}
	s.accept(r.Context(), st.Messages...)
	w.Header().Set("Location", "/api/server/"+st.Connection.ID)
	return writeJSON(w, http.StatusAccepted, started(st))
}

// updateServer changes a connection's credentials and verifies it again
// (PUT with form fields: 202), only renames it (PUT with just a name:
// 200), or reconnects it (POST …/reconnect: 202). The id stays the same.
func (s *Server) updateServer(w http.ResponseWriter, r *http.Request) error {
	var name *string
	var form map[string]any
	if r.Method == http.MethodPut {
		var err error
		if _, name, form, err = s.serverForm(w, r, false); err != nil {
			return err
		}
		if len(form) == 0 {
			form = nil
		}
	}
	reconnect := r.Method == http.MethodPost
	st, err := s.conns.Update(r.Context(), caller(r), chi.URLParam(r, "id"), name, form, reconnect, requestID(r.Context()))
	if err != nil {
		return err
	}
	s.forgetWebhookTarget(chi.URLParam(r, "id"))
	s.accept(r.Context(), st.Messages...)
	if st.JobID == "" && st.OAuthURL == "" {
		return writeJSON(w, http.StatusOK, started(st)) // a rename: nothing to verify
	}
	return writeJSON(w, http.StatusAccepted, started(st))
}

func (s *Server) getServer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.Connection(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) listServers(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Connections(r.Context(), caller(r), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// deleteServer removes a connection and its secrets at once.
func (s *Server) deleteServer(w http.ResponseWriter, r *http.Request) error {
	msgs, err := s.store.DeleteConnection(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	s.forgetWebhookTarget(chi.URLParam(r, "id"))
	s.accept(r.Context(), msgs...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// serverLogs is a connection's log, oldest first: ?level=, ?since=
// (RFC 3339), ?limit=, ?cursor=.
func (s *Server) serverLogs(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	f := tenantry.LogFilter{Level: r.URL.Query().Get("level"), Page: page}
	switch f.Level {
	case "", "info", "warn", "error":
	default:
		return tenantry.Invalid(tenantry.FieldError{Field: "level", Message: "must be info, warn or error"})
	}
	if v := r.URL.Query().Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return tenantry.Invalid(tenantry.FieldError{Field: "since", Message: "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
		}
	}
	lines, next, err := s.store.ConnectionLogs(r.Context(), caller(r), chi.URLParam(r, "id"), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(lines, next))
}

// forgetWebhookTarget makes a connection's change apply to its webhook
// URL on this replica at once (others within the receiver's CacheTTL).
func (s *Server) forgetWebhookTarget(id string) {
	if s.hooks != nil {
		s.hooks.ForgetConnection(id)
	}
}
