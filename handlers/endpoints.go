package handlers

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
)

// EndpointPrefix is where published endpoints live: an endpoint's URL is
// EndpointPrefix + account + path.
const EndpointPrefix = "/endpoints/"

// endpointMethods are the methods an endpoint may be published for.
var endpointMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// endpointPath is "/" or "/"-separated segments of URL path characters
// that need no escaping.
var endpointPath = regexp.MustCompile(`^/$|^(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$`)

// endpointBody is the body of POST /api/endpoints.
type endpointBody struct {
	Path        *string `json:"path"`
	Method      *string `json:"method"`
	InterfaceID *string `json:"interface_id"`
	Auth        *string `json:"auth"`
}

// endpoint validates a request, reporting every bad field.
func (in endpointBody) endpoint() (*tenantry.Endpoint, error) {
	e := &tenantry.Endpoint{Path: deref(in.Path), Method: strings.ToUpper(deref(in.Method)),
		InterfaceID: deref(in.InterfaceID), Auth: deref(in.Auth)}
	var errs []tenantry.FieldError
	add := func(field, msg string) { errs = append(errs, tenantry.FieldError{Field: field, Message: msg}) }
	if !validEndpointPath(e.Path) {
		add("path", `must start with "/" and hold only letters, digits and -._~!$&'()*+,;=:@ between slashes, at most 200 characters, without "." or ".." segments`)
	}
	if !slices.Contains(endpointMethods, e.Method) {
		add("method", "must be one of "+strings.Join(endpointMethods, ", "))
	}
	if e.InterfaceID == "" {
		add("interface_id", "is required")
	}
	if e.Auth != tenantry.EndpointJWT && e.Auth != tenantry.EndpointPublic {
		add("auth", `must be "jwt" (callers present the account's token) or "public" (the script decides)`)
	}
	if len(errs) > 0 {
		return nil, tenantry.Invalid(errs...)
	}
	return e, nil
}

func validEndpointPath(p string) bool {
	return len(p) <= 200 && endpointPath.MatchString(p) && !strings.Contains(p+"/", "/./") && !strings.Contains(p+"/", "/../")
}

// endpointRoutes are the routes under /api/endpoints.
func (s *Server) endpointRoutes(r chi.Router) {
	r.Post("/", s.wrap(s.idempotent(s.createEndpoint)))
	r.Get("/", s.wrap(s.listEndpoints))
	r.Get("/{id}", s.wrap(s.getEndpoint))
	r.Delete("/{id}", s.wrap(s.deleteEndpoint))
}

// createEndpoint publishes an interface's handler at a path of the
// caller's account: 201 with the endpoint and its url.
func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c.AccountID == "" {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "endpoints are published with the end-customer's token")
	}
	var in endpointBody
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	e, err := in.endpoint()
	if err != nil {
		return err
	}
	if err := s.checkHandler(r.Context(), caller(r), e.InterfaceID, "interface_id"); err != nil {
		return err
	}
	if err := s.store.CreateEndpoint(r.Context(), c, e); err != nil {
		return err
	}
	s.endpoints.routes.forget(e.AccountID, e.Path)
	w.Header().Set("Location", "/api/endpoints/"+e.ID)
	return writeJSON(w, http.StatusCreated, s.withURL(e))
}

// checkHandler refuses, naming field, an interface that is not the
// caller's, does not compile, or defines no handler(request).
func (s *Server) checkHandler(ctx context.Context, c tenantry.Caller, id, field string) error {
	i, err := s.store.Interface(ctx, c, id)
	if tenantry.ErrorCode(err) == tenantry.ENOTFOUND {
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "is not an interface of this account"})
	}
	if err != nil {
		return err
	}
	p, err := script.Compile(i.RawCode)
	switch {
	case err != nil:
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "the interface does not compile: " + compileMessage(err)})
	case !p.HasHandler:
		return tenantry.Invalid(tenantry.FieldError{Field: field, Message: "the interface defines no handler(request) function"})
	}
	return nil
}

// withURL sets e's URL, under the API's public URL.
func (s *Server) withURL(e *tenantry.Endpoint) *tenantry.Endpoint {
	e.URL = s.cfg.PublicURL + EndpointPrefix + e.AccountID + e.Path
	return e
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.Endpoint(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.withURL(e))
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Endpoints(r.Context(), caller(r), page)
	if err != nil {
		return err
	}
	for _, e := range items {
		s.withURL(e)
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}

// deleteEndpoint unpublishes an endpoint: 204. Other API replicas stop
// serving it within EndpointConfig.CacheTTL.
func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.store.DeleteEndpoint(r.Context(), caller(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	s.endpoints.routes.forget(e.AccountID, e.Path)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
