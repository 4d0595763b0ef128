package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/warehouse"
	"github.com/tenantry/tenantry/web"
)

// Config configures the API. Zero values take the documented defaults.
type Config struct {
	MaxBodyBytes    int64         // request body limit; default 1 MiB
	AccountTokenTTL time.Duration // lifetime of client-side account tokens; default 1h
	CORSRefresh     time.Duration // how often partners' CORS origins are reloaded; default 5s
	QueryTimeout    time.Duration // statement timeout of tenant SQL (query tables); default 5s
	// Demo serves /demo, a page that connects apps with embed.js as an
	// end-customer would; tenantry dev only.
	Demo bool
}

// Validate fills defaults.
func (c *Config) Validate() error {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.AccountTokenTTL <= 0 {
		c.AccountTokenTTL = time.Hour
	}
	if c.CORSRefresh <= 0 {
		c.CORSRefresh = 5 * time.Second
	}
	return nil
}

// ReadyCheck reports whether a dependency is usable; /readyz runs them.
type ReadyCheck func(ctx context.Context) error

// Server holds the API's dependencies. It is safe for concurrent use.
type Server struct {
	cfg     Config
	store   *store.Store
	issuer  *auth.Issuer
	conns   *connections.Service
	wh      *warehouse.Warehouse
	pub     tenantry.Publisher
	ready   map[string]ReadyCheck
	log     *zap.Logger
	metrics *httpMetrics
	gather  prometheus.Gatherer
	cors    *corsOrigins
}

// New returns the API server. reg and gather are the Prometheus registry
// the API's metrics go to and the one /metrics exposes.
func New(cfg Config, st *store.Store, issuer *auth.Issuer, conns *connections.Service, wh *warehouse.Warehouse, pub tenantry.Publisher,
	ready map[string]ReadyCheck, reg prometheus.Registerer, gather prometheus.Gatherer, log *zap.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, store: st, issuer: issuer, conns: conns, wh: wh, pub: pub, ready: ready, log: log,
		metrics: m, gather: gather, cors: newCORSOrigins(st, cfg.CORSRefresh)}, nil
}

// Router returns the API's routes.
func (s *Server) Router() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.observe, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, tenantry.Errorf(tenantry.ENOTFOUND, "no route for %s", r.URL.Path))
	})
	r.MethodNotAllowed(s.methodNotAllowed)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.wrap(s.readyz))
	r.Handle("/metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	r.Get(connections.CallbackPath, s.oauthCallback)
	r.Get("/embed.js", web.Embed)
	if s.cfg.Demo {
		r.Get("/demo", web.Demo)
		r.Get("/demo.js", web.DemoScript)
	}
	r.With(s.corsHeaders, s.authenticate).Post("/table", s.wrap(s.createTable)) // alias of POST /api/table
	r.Route("/api", func(r chi.Router) {
		r.Use(s.corsHeaders, s.authenticate)
		r.Group(func(r chi.Router) {
			r.Use(s.partnerOnly)
			r.Post("/subaccount", s.wrap(s.idempotent(s.createSubaccount)))
			r.Get("/subaccount", s.wrap(s.listSubaccounts))
			r.Get("/subaccount/token", s.wrap(s.subaccountTokenByExternalID))
			r.Put("/subaccount/{id}", s.wrap(s.updateSubaccount))
			r.Delete("/subaccount/{id}", s.wrap(s.deleteSubaccount))
			r.Get("/subaccount/{id}/token", s.wrap(s.subaccountToken))
			r.Delete("/subaccount/{id}/tokens", s.wrap(s.revokeSubaccountTokens))
			r.Get("/oauth-apps", s.wrap(s.listOAuthApps))
			r.Put("/oauth-apps/{servertype}", s.wrap(s.putOAuthApp))
			r.Delete("/oauth-apps/{servertype}", s.wrap(s.deleteOAuthApp))
		})
		r.Get("/subaccount/{id}", s.wrap(s.getSubaccount))
		r.Get("/jobs/{id}", s.wrap(s.getJob))
		r.Post("/table", s.wrap(s.createTable))
		r.Get("/table", s.wrap(s.listTables))
		r.Get("/table/{id}", s.wrap(s.getTable))
		r.Delete("/table/{id}", s.wrap(s.deleteTable))
		r.Get("/table/{id}/rows", s.wrap(s.tableRows))
		r.Get("/servertypes", s.wrap(s.listServerTypes))
		r.Post("/servers", s.wrap(s.idempotent(s.createServer)))
		r.Get("/servers", s.wrap(s.listServers))
		r.Get("/server/{id}", s.wrap(s.getServer))
		r.Put("/server/{id}", s.wrap(s.updateServer))
		r.Post("/server/{id}/reconnect", s.wrap(s.idempotent(s.updateServer)))
		r.Delete("/server/{id}", s.wrap(s.deleteServer))
		r.Get("/server/{id}/logs", s.wrap(s.serverLogs))
		r.Post("/server/{id}/sync", s.wrap(s.idempotent(s.requestSync)))
		r.Get("/server/{id}/syncs", s.wrap(s.listSyncs))
		r.Put("/server/{id}/schedule", s.wrap(s.putSyncSchedule))
	})
	return r
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, problem{Type: "urn:tenantry:problem:method_not_allowed", Title: "Method Not Allowed",
		Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not supported on " + r.URL.Path,
		Code: "method_not_allowed", RequestID: requestID(r.Context())})
}

// accept publishes what a request committed to the outbox. A failed
// publish is not the client's problem: the message is durable in the
// outbox and the scheduler re-publishes it.
func (s *Server) accept(ctx context.Context, msgs ...tenantry.Message) {
	if _, err := s.store.Send(ctx, s.pub, msgs...); err != nil {
		s.log.Warn("publish after commit failed; the scheduler will re-publish",
			zap.String("request_id", requestID(ctx)), zap.Error(err))
	}
}
