package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// EndpointConfig configures published endpoints on the API's side. Zero
// values take the defaults.
type EndpointConfig struct {
	// Timeout is how long a call waits for a worker's answer before the
	// API answers 504; the run is stopped then too. Default 10s. Keep it
	// below the script wall-clock limit (script.Config.Timeout, 30s), or
	// that limit ends the run first.
	Timeout time.Duration
	// MaxBodyBytes bounds a call's request body (413 beyond). Default
	// 512 KiB: the call, JSON-encoded, must fit a NATS message (1 MiB
	// by default).
	MaxBodyBytes int64
	// CacheTTL is how long an API replica reuses what it read of an
	// account's endpoints at a path (and their interfaces' versions):
	// an endpoint created, deleted or re-coded elsewhere is served as
	// before for at most that long. Default 2s.
	CacheTTL time.Duration
	// CacheSize bounds the paths cached. Default 10000.
	CacheSize int
}

func (c *EndpointConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 512 << 10
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 2 * time.Second
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 10000
	}
}

// endpointProxy forwards calls to published endpoints to the workers.
type endpointProxy struct {
	cfg    EndpointConfig
	nc     *nats.Conn
	routes *routeCache
}

// UseEndpoints turns on published endpoints: /api/endpoints, and the
// endpoints themselves under EndpointPrefix, whose calls go to the
// workers over nc. Call it before Router.
func (s *Server) UseEndpoints(cfg EndpointConfig, nc *nats.Conn) {
	cfg.defaults()
	s.endpoints = &endpointProxy{cfg: cfg, nc: nc, routes: newRouteCache(cfg.CacheTTL, cfg.CacheSize)}
}

// serveEndpoint serves a call to a published endpoint: it finds the
// endpoint (404, or 405 for another method), checks the caller for a jwt
// endpoint (401, 403), and forwards the request to a worker, whose
// answer it writes back; 500 with a run_id when the script failed, 504
// when it did not answer in time, 503 with Retry-After when no worker
// could take it.
func (s *Server) serveEndpoint(w http.ResponseWriter, r *http.Request) error {
	err := s.callEndpoint(w, r)
	switch {
	case errors.Is(err, errEndpointTimeout):
		s.writeTimeout(w, r, "")
		return nil
	case tenantry.ErrorCode(err) == tenantry.EUNAVAILABLE:
		w.Header().Set("Retry-After", "1")
	}
	return err
}

func (s *Server) callEndpoint(w http.ResponseWriter, r *http.Request) error {
	account, path := chi.URLParam(r, "account"), "/"+chi.URLParam(r, "*")
	route, err := s.endpointRoute(w, r, account, path)
	if err != nil || route == nil {
		return err
	}
	if route.Auth == tenantry.EndpointJWT {
		if err := s.endpointCaller(r, account); err != nil {
			return err
		}
	}
	body, err := readBody(w, r, s.endpoints.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	input, err := endpointInput(r, body, path, s.cfg.PublicURL, route.Auth == tenantry.EndpointJWT)
	if err != nil {
		return err
	}
	call := &tenantry.EndpointCall{EndpointID: route.ID, InterfaceID: route.InterfaceID, Version: route.Version,
		PartnerID: route.PartnerID, AccountID: account, RequestID: requestID(r.Context()),
		TimeoutMS: s.endpoints.cfg.Timeout.Milliseconds(), Request: input}
	reply, err := s.forward(r.Context(), call)
	if err != nil {
		return err
	}
	return s.writeReply(w, r, reply)
}

// endpointRoute finds the endpoint for the request's method; nil (with
// the 405 written) when the path has endpoints for other methods only.
func (s *Server) endpointRoute(w http.ResponseWriter, r *http.Request, account, path string) (*store.EndpointRoute, error) {
	routes, ok := s.endpoints.routes.get(account, path)
	if !ok {
		var err error
		if routes, err = s.store.EndpointRoutes(r.Context(), account, path); err != nil {
			return nil, err
		}
		s.endpoints.routes.put(account, path, routes)
	}
	allowed := make([]string, 0, len(routes))
	for i := range routes {
		if routes[i].Method == r.Method {
			return &routes[i], nil
		}
		allowed = append(allowed, routes[i].Method)
	}
	if len(allowed) == 0 {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "no endpoint at %s", r.URL.Path)
	}
	slices.Sort(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.methodNotAllowed(w, r)
	return nil, nil
}

// endpointCaller admits to a jwt endpoint only an end-customer token of
// the endpoint's own account: 401 without a valid credential, 403 for
// any other (a partner's, another account's).
func (s *Server) endpointCaller(r *http.Request, account string) error {
	credential, err := bearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	c, err := s.verify(r.Context(), credential)
	if err != nil {
		return err
	}
	if c.Kind != tenantry.KindAccountToken || c.AccountID != account {
		return tenantry.Errorf(tenantry.EFORBIDDEN, "this endpoint takes an end-customer token of its own account")
	}
	return nil
}

// errEndpointTimeout is a call no worker answered in time.
var errEndpointTimeout = errors.New("endpoint call timed out")

// forward sends call to a worker and waits for its reply.
func (s *Server) forward(ctx context.Context, call *tenantry.EndpointCall) (*tenantry.EndpointReply, error) {
	nc := s.endpoints.nc
	if !nc.IsConnected() {
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "endpoints are unavailable: retry later")
	}
	data, err := call.Encode()
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > nc.MaxPayload() {
		return nil, tenantry.Errorf(tenantry.ETOOLARGE, "the request is too large to forward")
	}
	ctx, cancel := context.WithTimeout(ctx, s.endpoints.cfg.Timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, tenantry.EndpointSubject(call.AccountID), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "no worker is answering endpoint calls: retry later")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return nil, errEndpointTimeout
	case err != nil:
		s.log.Warn("forward endpoint call", zap.String("request_id", call.RequestID), zap.Error(err))
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "endpoints are unavailable: retry later")
	}
	reply := &tenantry.EndpointReply{}
	if err := reply.Decode(msg.Data); err != nil {
		return nil, err
	}
	return reply, nil
}

// runProblem is the problem document of a failed or timed-out run,
// naming the run whose record tells the script's author why.
type runProblem struct {
	problem
	RunID string `json:"run_id,omitempty"`
}

// writeReply writes a worker's answer: the handler's response, or the
// problem of a run without one.
func (s *Server) writeReply(w http.ResponseWriter, r *http.Request, reply *tenantry.EndpointReply) error {
	if reply.RunID != "" {
		w.Header().Set("X-Tenantry-Run-Id", reply.RunID)
	}
	switch reply.Outcome {
	case "":
		if reply.Status < 200 || reply.Status > 599 { // the worker validated it: not a reply from one
			return fmt.Errorf("endpoint reply with status %d", reply.Status)
		}
		for k, v := range reply.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(reply.Status)
		_, _ = w.Write(reply.Body)
		return nil
	case tenantry.EndpointFailed:
		s.writeRunProblem(w, r, http.StatusInternalServerError, "script_error",
			"the endpoint's script failed; its run "+reply.RunID+" tells why", reply.RunID)
		return nil
	case tenantry.EndpointTimeout:
		s.writeTimeout(w, r, reply.RunID)
		return nil
	case tenantry.EndpointNotFound:
		return tenantry.Errorf(tenantry.ENOTFOUND, "no endpoint at %s", r.URL.Path)
	}
	return tenantry.Errorf(tenantry.EUNAVAILABLE, "endpoints are unavailable: retry later")
}

func (s *Server) writeTimeout(w http.ResponseWriter, r *http.Request, runID string) {
	s.writeRunProblem(w, r, http.StatusGatewayTimeout, "timeout",
		"the endpoint did not answer within "+s.endpoints.cfg.Timeout.String(), runID)
}

func (s *Server) writeRunProblem(w http.ResponseWriter, r *http.Request, status int, code, detail, runID string) {
	p := runProblem{problem: problem{Type: "urn:tenantry:problem:" + code, Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, RequestID: requestID(r.Context())}, RunID: runID}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, status, p)
}
