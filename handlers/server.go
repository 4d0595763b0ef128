package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/warehouse"
	"github.com/tenantry/tenantry/web"
	"github.com/tenantry/tenantry/webhook"
)

// Config configures the API. Zero values take the documented defaults.
type Config struct {
	MaxBodyBytes    int64         // request body limit; default 1 MiB
	AccountTokenTTL time.Duration // lifetime of client-side account tokens; default 1h
	CORSRefresh     time.Duration // how often partners' CORS origins are reloaded; default 5s
	QueryTimeout    time.Duration // statement timeout of tenant SQL (query tables); default 5s
	KeyTokenTTL     time.Duration // lifetime of tokens exchanged for an API key; default 1h
	SingleUseTTL    time.Duration // lifetime of single-use tokens; default 5m, at most 15m
	InvitationTTL   time.Duration // how long an invitation's accept link works; default 72h
	PublicURL       string        // where browsers reach the API; accept links start with it
	RateLimits      RateLimits    // per credential and route class; see RateLimits
	OAuth           OAuthServer   // the OAuth2 authorization server for third-party apps
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
	if c.KeyTokenTTL <= 0 {
		c.KeyTokenTTL = time.Hour
	}
	if c.SingleUseTTL <= 0 {
		c.SingleUseTTL = 5 * time.Minute
	}
	if c.InvitationTTL <= 0 {
		c.InvitationTTL = 72 * time.Hour
	}
	if c.SingleUseTTL > maxSingleUseTTL {
		return fmt.Errorf("SingleUseTTL %s is over %s", c.SingleUseTTL, maxSingleUseTTL)
	}
	if err := c.OAuth.Validate(); err != nil {
		return err
	}
	return c.RateLimits.Validate()
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
	limiter *limiter

	hooks       *webhook.Receiver // nil: no webhook routes (UseWebhooks)
	admin       *Admin            // nil: no operator API (UseAdmin)
	adminTokens [][]byte          // SHA-256 of admin.Tokens
	// notifySealer seals notification endpoints' secrets; nil: no
	// notification routes (UseNotifications).
	notifySealer *secret.Sealer
	endpoints    *endpointProxy // nil: no published endpoints (UseEndpoints)
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
		metrics: m, gather: gather, cors: newCORSOrigins(st, cfg.CORSRefresh),
		limiter: newLimiter(st, cfg.RateLimits.Share, log.Named("ratelimit"))}, nil
}

// Start starts the API's background work (sharing rate-limit counts
// with the other replicas) until Stop.
func (s *Server) Start(context.Context) error {
	s.limiter.Start()
	return nil
}

// Stop ends what Start began, sharing the last counts. Safe to call twice.
func (s *Server) Stop() { s.limiter.Stop() }

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
	r.Get("/openapi.json", web.OpenAPI)
	r.Get("/docs", web.Reference)
	if s.cfg.Demo {
		r.Get("/demo", web.Demo)
		r.Get("/demo.js", web.DemoScript)
	}
	r.Get("/.well-known/jwks.json", s.jwks)
	r.With(s.corsHeaders, s.authenticate, s.rateLimitAs(classAuth), s.partnerOnly).Post("/api/auth/token", s.wrap(s.exchangeKey))
	r.With(s.corsHeaders, s.authenticateSingleUse, s.rateLimit).Post("/api/subaccount/{id}/invitations", s.wrap(s.createInvitation))
	r.With(s.corsHeaders).Post("/api/invitations/accept", s.wrap(s.acceptInvitationAPI))
	r.Get(acceptPath, s.acceptForm)
	r.Post(acceptPath, s.acceptSubmit)
	r.Get("/oauth/authorize", s.authorize)
	r.Post("/oauth/authorize", s.authorizeSubmit)
	r.Post("/oauth/token", s.oauthToken)
	r.Post("/oauth/revoke", s.oauthRevoke)
	r.With(s.corsHeaders, s.authenticate, s.rateLimit).Post("/table", s.wrap(s.createTable)) // alias of POST /api/table
	// alias of POST /api/interface
	r.With(s.corsHeaders, s.authenticate, s.rateLimit).Post("/interface", s.wrap(s.idempotent(s.createInterface)))
	if s.hooks != nil {
		r.Post(webhook.AccountPath+"{token}", s.wrap(s.receiveWebhook(s.hooks.Account, "token")))
		r.Post(webhook.ConnectionPath+"{id}", s.wrap(s.receiveWebhook(s.hooks.Connection, "id")))
	}
	if s.admin != nil && len(s.adminTokens) > 0 {
		r.Route("/api/admin", s.adminRoutes)
	}
	if s.endpoints != nil {
		r.Handle(EndpointPrefix+"{account}/*", s.wrap(s.serveEndpoint))
	}
	r.Route("/api", func(r chi.Router) {
		r.Use(s.corsHeaders, s.authenticate, s.rateLimit)
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
			r.With(s.keyManager).Post("/keys", s.wrap(s.createKey))
			r.With(s.keyManager).Get("/keys", s.wrap(s.listKeys))
			r.With(s.keyManager).Post("/keys/{id}/revoke", s.wrap(s.revokeKey))
			r.With(s.keyManager).Post("/keys/{id}/reactivate", s.wrap(s.reactivateKey))
			r.With(s.keyManager).Delete("/keys/{id}", s.wrap(s.deleteKey))
			r.With(s.keyManager).Post("/oauth/apps", s.wrap(s.createOAuthClient))
			r.With(s.keyManager).Get("/oauth/apps", s.wrap(s.listOAuthClients))
			r.With(s.keyManager).Delete("/oauth/apps/{id}", s.wrap(s.deleteOAuthClient))
		})
		r.Get("/subaccount/{id}", s.wrap(s.getSubaccount))
		r.Get("/subaccount/{id}/users", s.wrap(s.listUsers))
		r.Get("/jobs/{id}", s.wrap(s.getJob))
		r.Post("/table", s.wrap(s.createTable))
		r.Get("/table", s.wrap(s.listTables))
		r.Get("/table/{id}", s.wrap(s.getTable))
		r.Delete("/table/{id}", s.wrap(s.deleteTable))
		r.Get("/table/{id}/rows", s.wrap(s.tableRows))
		r.Post("/interface", s.wrap(s.idempotent(s.createInterface)))
		r.Get("/interface", s.wrap(s.listInterfaces))
		r.Get("/interface/{id}", s.wrap(s.getInterface))
		r.Put("/interface/{id}", s.wrap(s.updateInterface))
		r.Delete("/interface/{id}", s.wrap(s.deleteInterface))
		r.Post("/interface/{id}/run", s.wrap(s.idempotent(s.runInterface)))
		r.Get("/interface/{id}/runs", s.wrap(s.listRuns))
		r.Get("/servertypes", s.wrap(s.listServerTypes))
		r.Post("/servers", s.wrap(s.idempotent(s.createServer)))
		r.Get("/servers", s.wrap(s.listServers))
		r.Get("/server/{id}", s.wrap(s.getServer))
		r.Put("/server/{id}", s.wrap(s.updateServer))
		r.Post("/server/{id}/reconnect", s.wrap(s.idempotent(s.updateServer)))
		r.Delete("/server/{id}", s.wrap(s.deleteServer))
		r.Get("/server/{id}/logs", s.wrap(s.serverLogs))
		if s.hooks != nil {
			r.Get("/webhooks", s.wrap(s.getWebhooks))
			r.Put("/webhooks", s.wrap(s.putWebhookHandler))
			r.Post("/webhooks/rotate", s.wrap(s.rotateWebhookURL))
			r.Get("/webhooks/events", s.wrap(s.listWebhookEvents))
			r.Get("/webhooks/events/{id}", s.wrap(s.getWebhookEvent))
		}
		if s.notifySealer != nil {
			r.Route("/notifications", s.notificationRoutes)
		}
		if s.endpoints != nil {
			r.Route("/endpoints", s.endpointRoutes)
		}
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
