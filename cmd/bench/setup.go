package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/secret"
)

// bench is everything one benchmark run starts, and owns until Close.
type bench struct {
	cfg       config
	log       *zap.Logger
	stamp     string // unique per run: database, external ids and role names
	dbURL     string
	dir       string // nats-server storage
	ns        *server.Server
	node      *node.Node
	pool      *pgxpool.Pool       // the baselines' and the bench's own queries
	nc        *nats.Conn          // completions and the JetStream baseline
	js        jetstream.JetStream // the raw ingress publishes and the replays
	hot       *hotPath            // POST /api/subaccount: the pipeline with the tenant DDL
	conn      *hotPath            // POST /api/servers (secret_store): the same pipeline without it
	base      *baselines
	src       *syncSource    // the fake API the syncs read
	sync      *syncPath      // POST /api/server/{id}/sync
	raw       *syncBaselines // the same rows, without the sync
	load      *http.Client   // keep-alive connections of the ingress, endpoint and bare-handler runs
	bare      *bareServer    // a net/http handler with nothing of tenantry's in it
	hooks     *ingressBench  // webhook ingress and its baselines
	replay    *replayBench
	endpoints *endpointBench // published endpoints
	info      machine
	closed    bool
}

// setup creates a fresh database, an embedded nats-server, the fake API
// the syncs read, a full node, a partner with a non-expiring token, the
// baselines, and the subaccounts, webhook URLs and endpoints of the
// ingress, replay and endpoint runs.
func setup(ctx context.Context, cfg config, log *zap.Logger) (*bench, error) {
	b := &bench{cfg: cfg, log: log, stamp: time.Now().UTC().Format("20060102_150405")}
	for _, step := range []func(context.Context) error{b.createDatabase, b.startNATS, b.startSource, b.startNode, b.connect, b.prepare,
		b.prepareIngress, b.prepareReplay, b.prepareEndpoints} {
		if err := step(ctx); err != nil {
			if cerr := b.Close(); cerr != nil {
				err = fmt.Errorf("%w (and cleanup: %v)", err, cerr)
			}
			return nil, err
		}
	}
	return b, nil
}

func (b *bench) createDatabase(ctx context.Context) error {
	name := "tenantry_bench_" + b.stamp
	u, err := url.Parse(b.cfg.AdminURL)
	if err != nil {
		return fmt.Errorf("BENCH_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	if err := createDatabase(ctx, b.cfg.AdminURL, name); err != nil {
		return err
	}
	b.dbURL = u.String()
	return nil
}

func (b *bench) startNATS(context.Context) (err error) {
	if b.dir, err = os.MkdirTemp("", "tenantry-bench-nats-"); err != nil {
		return err
	}
	b.ns, err = events.StartServer(b.dir, -1)
	return err
}

func (b *bench) startSource(context.Context) (err error) {
	b.src, err = startSyncSource(b.cfg.SyncRows)
	return err
}

// startNode starts the node with the fake API's connector, loopback
// exempt from the egress guard so that the worker may reach it, and the
// API's read and write rate limits out of reach.
func (b *bench) startNode(ctx context.Context) (err error) {
	cfg := node.Config{API: true, Worker: true, Scheduler: true, Migrate: true,
		DatabaseURL: b.nodeDatabaseURL(), NATSURL: b.ns.ClientURL(), MasterKey: secret.NewMasterKey(),
		Addr: "127.0.0.1:0", ConnectorsDir: b.src.Dir, EgressAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	cfg.Jobs.Consumer.Concurrency = b.cfg.WorkerConc
	// One credential drives each path far past any per-credential quota:
	// the limiter still counts every request, but refuses none.
	unlimited := handlers.RateLimit{Limit: math.MaxInt32, Window: time.Minute}
	cfg.HTTP.RateLimits.Read, cfg.HTTP.RateLimits.Write = unlimited, unlimited
	b.node, err = node.Start(ctx, cfg, b.log)
	return err
}

// nodeDatabaseURL is the bench database, with the pool size if one is set.
func (b *bench) nodeDatabaseURL() string {
	if b.cfg.PoolMaxConns <= 0 {
		return b.dbURL
	}
	u, _ := url.Parse(b.dbURL) // parsed once already in createDatabase
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(b.cfg.PoolMaxConns))
	u.RawQuery = q.Encode()
	return u.String()
}

func (b *bench) connect(ctx context.Context) error {
	pc, err := pgxpool.ParseConfig(b.dbURL)
	if err != nil {
		return err
	}
	pc.MaxConns = int32(b.cfg.Concurrency + 1) // +1 for verify
	if b.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return fmt.Errorf("open bench pool: %w", err)
	}
	b.info, err = describe(ctx, b.pool, b.cfg)
	return err
}

// prepare creates the partner, its token, the completion subscription,
// the hot paths and the sync path, and the baselines.
func (b *bench) prepare(ctx context.Context) error {
	p := &tenantry.Partner{Name: "bench"}
	if err := b.node.Store.CreatePartner(ctx, p); err != nil {
		return err
	}
	token, _, err := b.node.Issuer.Issue(ctx, tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: p.ID}, 0)
	if err != nil {
		return fmt.Errorf("issue partner token: %w", err)
	}
	nc, js, err := events.Connect(b.ns.ClientURL(), "bench")
	if err != nil {
		return err
	}
	b.nc, b.js = nc, js
	done, err := subscribe(nc)
	if err != nil {
		return err
	}
	transport := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	client, base := &http.Client{Transport: transport}, "http://"+b.node.Addr()
	b.hot = newSubaccountPath(base, token, "bench-"+b.stamp, client, b.cfg.Timeout, done)
	b.conn = newConnectionPath(base, client, b.cfg.Timeout, done)
	b.sync = newSyncPath(base, client, b.cfg.Timeout, done, b.src, b.pool)
	b.raw = newSyncBaselines(b.pool, b.node.Store, b.src)
	if b.base, err = newBaselines(ctx, b.pool, js, b.cfg.Concurrency, b.stamp, p.ID); err != nil {
		return err
	}
	b.info.Payload, b.info.Record = len(b.base.cmd.Data), b.src.size()
	return nil
}
