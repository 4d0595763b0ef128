// Package node is tenantry's composition root: it builds the roles (api,
// worker, scheduler) from a Config over one Postgres store and one NATS
// connection, starts them, and stops them in reverse order. cmd/api,
// cmd/worker and cmd/scheduler each run one role; `tenantry dev` and the
// end-to-end tests run all three in one process.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/scheduler"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/warehouse"
	"github.com/tenantry/tenantry/worker"
)

// Config says which roles to run and what they connect to.
type Config struct {
	API, Worker, Scheduler bool

	DatabaseURL    string        // required
	NATSURL        string        // required
	MasterKey      string        // TENANTRY_MASTER_KEY; required for the api and worker roles
	Addr           string        // api listen address; default 127.0.0.1:8080
	MetricsAddr    string        // without the api role: where /metrics and /healthz listen ("" = off)
	StreamReplicas int           // 1 on one server, 3 on a cluster; default 1
	Migrate        bool          // apply migrations at start
	PublishTimeout time.Duration // 0: the publisher's default (2s)

	// ConnectorsDir adds custom connector definitions to the embedded
	// catalog (TENANTRY_CONNECTORS_DIR).
	ConnectorsDir string
	// EgressAllow exempts networks from the egress guard
	// (TENANTRY_EGRESS_ALLOW); tests allow loopback for fake providers.
	EgressAllow []netip.Prefix
	// Connections: PublicURL defaults to the API's bound address.
	Connections connections.Config

	HTTP      handlers.Config
	Webhooks  WebhookConfig
	Scripts   script.Config // the script runner pool (worker role)
	Endpoints EndpointConfig
	Auth      auth.Config
	Jobs      worker.Config
	Schedule  scheduler.Config
	ShutdownT time.Duration // how long Stop waits for each role; default 30s
}

// Validate fills defaults and reports what is missing.
func (c *Config) Validate() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required")
	}
	if c.NATSURL == "" {
		return errors.New("NATS_URL is required")
	}
	if (c.API || c.Worker) && c.MasterKey == "" {
		return errors.New("TENANTRY_MASTER_KEY is required for the api and worker roles (generate one with `tenantry masterkey`)")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.StreamReplicas <= 0 {
		c.StreamReplicas = 1
	}
	if c.ShutdownT <= 0 {
		c.ShutdownT = 30 * time.Second
	}
	return nil
}

// Node is a running set of roles.
type Node struct {
	cfg       Config
	log       *zap.Logger
	Store     *store.Store
	Issuer    *auth.Issuer         // nil unless the api role runs
	Conns     *connections.Service // nil unless the api or worker role runs
	sealer    *secret.Sealer
	warehouse *warehouse.Warehouse
	nc        *nats.Conn

	ln        net.Listener
	api       *handlers.Server
	srv       *http.Server
	served    chan error
	work      *worker.Worker
	hooks     *worker.Webhooks
	notifier  *worker.Notifier
	pool      *script.Pool      // script runners
	endpoints *worker.Endpoints // answers published endpoints' calls
	js        jetstream.JetStream
	sched     *scheduler.Scheduler

	stopOnce sync.Once
}

// Start connects, builds and starts the configured roles. The HTTP
// listener is bound before Start returns, so a bad address fails here.
func Start(ctx context.Context, cfg Config, log *zap.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log}
	if err := n.start(ctx); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	var err error
	if n.Store, err = store.Open(ctx, n.cfg.DatabaseURL); err != nil {
		return err
	}
	if n.cfg.Migrate {
		if err := n.Store.Migrate(ctx); err != nil {
			return err
		}
	}
	nc, js, err := events.Connect(n.cfg.NATSURL, "tenantry")
	if err != nil {
		return err
	}
	n.nc, n.js = nc, js
	if err := events.EnsureStreams(ctx, js, n.cfg.StreamReplicas); err != nil {
		return err
	}
	pub := events.NewPublisher(js, n.cfg.PublishTimeout)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.cfg.API {
		if err := n.listen(n.cfg.Addr); err != nil {
			return err
		}
	}
	if n.cfg.API || n.cfg.Worker {
		if err := n.buildConnections(pub); err != nil {
			return err
		}
	}
	if n.cfg.Worker {
		if n.work, err = worker.New(n.cfg.Jobs, n.Store, n.Conns, js, pub, reg, n.log.Named("worker")); err != nil {
			return err
		}
		if err := n.useScripts(ctx, reg); err != nil {
			return err
		}
		if err := n.startEndpoints(ctx); err != nil {
			return err
		}
		if err := n.work.Start(ctx); err != nil {
			return err
		}
		if err := n.startWebhooks(ctx, pub); err != nil {
			return err
		}
	}
	if n.cfg.Scheduler {
		// One setting each, read by the scheduler (to queue refreshes) and
		// the connection service (to decide them under the lock).
		n.cfg.Schedule.RefreshBefore, n.cfg.Schedule.RefreshEvery = n.cfg.Connections.RefreshBefore, n.cfg.Connections.RefreshEvery
		n.sched = scheduler.New(n.cfg.Schedule, n.Store, pub, n.log.Named("scheduler"))
		if err := n.sched.Start(ctx); err != nil {
			return err
		}
	}
	if n.cfg.API {
		return n.startAPI(ctx, pub, reg)
	}
	if n.cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		if err := n.listen(n.cfg.MetricsAddr); err != nil {
			return err
		}
		n.serve(mux)
	}
	return nil
}

// buildConnections loads the connector catalog and builds the connection
// service the api and the worker share.
func (n *Node) buildConnections(pub tenantry.Publisher) error {
	sealer, err := secret.ParseMasterKeys(n.cfg.MasterKey)
	if err != nil {
		return fmt.Errorf("TENANTRY_MASTER_KEY: %w", err)
	}
	n.sealer = sealer
	n.warehouse = warehouse.New(n.Store, sealer, n.cfg.HTTP.QueryTimeout)
	catalog, err := connectors.LoadCatalog(n.cfg.ConnectorsDir)
	if err != nil {
		return err
	}
	cfg := n.cfg.Connections
	if cfg.PublicURL == "" && n.ln != nil {
		cfg.PublicURL = "http://" + n.ln.Addr().String()
	}
	client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, Logger: n.log.Named("egress")})
	n.Conns, err = connections.New(cfg, n.Store, catalog, sealer, client, pub, n.log.Named("connections"))
	return err
}

func (n *Node) startAPI(ctx context.Context, pub tenantry.Publisher, reg *prometheus.Registry) error {
	var err error
	if n.Issuer, err = auth.NewIssuer(ctx, n.cfg.Auth, n.Store, n.sealer, nil); err != nil {
		return err
	}
	if err := n.Issuer.Start(ctx, n.log.Named("auth")); err != nil {
		return err
	}
	ready := map[string]handlers.ReadyCheck{
		"postgres": n.Store.Ping,
		"nats": func(context.Context) error {
			if !n.nc.IsConnected() {
				return errors.New("nats disconnected")
			}
			return nil
		},
	}
	if n.cfg.HTTP.PublicURL == "" { // the same base as the OAuth callback's
		n.cfg.HTTP.PublicURL = strings.TrimSuffix(n.cfg.Connections.PublicURL, "/")
	}
	if n.cfg.HTTP.PublicURL == "" {
		n.cfg.HTTP.PublicURL = "http://" + n.ln.Addr().String()
	}
	api, err := handlers.New(n.cfg.HTTP, n.Store, n.Issuer, n.Conns, n.warehouse, pub, ready, reg, reg, n.log.Named("api"))
	if err != nil {
		return err
	}
	n.api = api
	if err := api.Start(ctx); err != nil {
		return err
	}
	if err := n.useWebhooks(api, pub); err != nil {
		return err
	}
	n.useEndpoints(api)
	n.serve(api.Router())
	return nil
}

// listen binds addr synchronously, so a bad address fails Start.
func (n *Node) listen(addr string) error {
	var err error
	if n.ln, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return nil
}

// serve serves h on the bound listener until Stop.
func (n *Node) serve(h http.Handler) {
	// ReadTimeout bounds a slow body as MaxBytesReader bounds a big one.
	n.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	n.served = make(chan error, 1)
	go func() { n.served <- n.srv.Serve(n.ln) }()
	n.log.Info("listening", zap.String("addr", n.ln.Addr().String()))
}

// Addr is the bound address of the API, or of the metrics listener
// without the api role ("" if neither).
func (n *Node) Addr() string {
	if n.ln == nil {
		return ""
	}
	return n.ln.Addr().String()
}

// Stop shuts the roles down in reverse order of start, each within the
// shutdown timeout. Safe to call on a partly started node, and twice.
func (n *Node) Stop() { n.stopOnce.Do(n.stop) }

func (n *Node) stop() {
	if n.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownT)
		if err := n.srv.Shutdown(ctx); err != nil {
			n.log.Warn("http shutdown", zap.Error(err))
		}
		cancel()
		<-n.served
	} else if n.ln != nil {
		_ = n.ln.Close()
	}
	if n.api != nil {
		n.api.Stop()
	}
	if n.Issuer != nil {
		n.Issuer.Stop()
	}
	if n.sched != nil {
		n.sched.Stop()
	}
	n.stopWebhooks()
	if n.work != nil {
		n.work.Stop()
	}
	if n.endpoints != nil {
		n.endpoints.Stop()
	}
	if n.pool != nil {
		n.pool.Stop()
	}
	if n.nc != nil {
		n.nc.Close()
	}
	if n.warehouse != nil {
		n.warehouse.Close()
	}
	if n.Store != nil {
		n.Store.Close()
	}
}
