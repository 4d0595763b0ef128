// Command bench measures tenantry's hot paths next to raw baselines run
// against the same servers in the same process: a JetStream publish, a
// bare Postgres commit and the provisioning DDL. It creates a throwaway
// database, an embedded nats-server and a full node (api + worker +
// scheduler), drives POST /api/subaccount (the pipeline with the tenant
// DDL) and POST /api/servers with secret_store connections (the same
// pipeline without DDL), and times syncs from a fake paginated API on
// loopback into Postgres next to a raw pgx CopyFrom of the same rows. It
// also drives webhook ingress next to a bare net/http handler and raw
// JetStream publishes, times a replay of webhooks through the processing
// path next to a raw ordered consumer, and calls published endpoints
// (a trivial and a realistic handler) next to the bare handler. It
// removes everything it created when done.
// `make bench` runs it and writes docs/BENCHMARKS.md, which explains what
// each figure means.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// config is the benchmark's settings, from flags.
type config struct {
	AdminURL     string        // any database on the Postgres server to use
	Concurrency  int           // clients (closed loop) and baseline workers
	Duration     time.Duration // each hot-path run
	Requests     int           // if > 0, each hot-path run is this many requests instead
	BaselineDur  time.Duration // each baseline run
	Warmup       time.Duration // each phase, once, before round 1
	Rounds       int           // medians are taken across rounds
	Timeout      time.Duration // one operation, end to end
	WorkerConc   int           // the worker's concurrent jobs (product default 8)
	PoolMaxConns int           // the node's pgx pool size; 0 keeps the product default
	SyncRows     int           // rows the fake API serves, in pages of syncPageSize
	IngressConc  int           // webhook ingress clients, each on a keep-alive connection of its own
	IngressDur   time.Duration // each webhook ingress run (its baselines run BaselineDur)
	ReplayMsgs   int           // webhooks each replay re-runs and the raw ordered consumer reads
	EndpointConc int           // published-endpoint clients
	EndpointDur  time.Duration // each published-endpoint run (the bare handler runs BaselineDur)
	Out          string        // markdown file to write below the marker
	CPUProfile   string        // write a CPU profile of the rounds here
	Only         []string      // measure only these sections (-only); empty: every one
}

// sections are the parts of a round -only can pick, in their order.
var sections = []string{"pipeline", "sync", "ingress", "replay", "endpoints"}

// runs reports whether the run measures section.
func (c config) runs(section string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, section)
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&c.Concurrency, "c", 16, "concurrent clients (closed loop) and baseline workers")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "length of each hot-path run")
	fs.IntVar(&c.Requests, "n", 0, "requests per hot-path run; overrides -duration when > 0")
	fs.DurationVar(&c.BaselineDur, "baseline-duration", 3*time.Second, "length of each baseline run")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "warm-up of each phase before round 1 (discarded)")
	fs.IntVar(&c.Rounds, "rounds", 3, "rounds; the report quotes medians across rounds")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Second, "give up on one operation after this long")
	fs.IntVar(&c.WorkerConc, "worker-concurrency", 8, "jobs the worker runs at once (TENANTRY_WORKER_CONCURRENCY)")
	fs.IntVar(&c.PoolMaxConns, "pool-max-conns", 0, "the node's Postgres pool size; 0 keeps the product default (store.DefaultMaxConns)")
	fs.IntVar(&c.SyncRows, "sync-rows", 50_000, "rows each sync reads from the fake API (1000 a page) and each CopyFrom baseline writes")
	fs.IntVar(&c.IngressConc, "ingress-c", 64, "concurrent webhook ingress clients, each on a keep-alive connection of its own")
	fs.DurationVar(&c.IngressDur, "ingress-duration", 5*time.Second, "length of each webhook ingress run")
	fs.IntVar(&c.ReplayMsgs, "replay-msgs", 20_000, "webhooks each replay re-runs and the raw ordered consumer reads")
	fs.IntVar(&c.EndpointConc, "endpoint-c", 16, "concurrent published-endpoint clients")
	fs.DurationVar(&c.EndpointDur, "endpoint-duration", 5*time.Second, "length of each published-endpoint run")
	fs.StringVar(&c.Out, "out", "", "write the results into this markdown file, below "+marker)
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole process during the rounds to this file")
	only := fs.String("only", "", "measure only these sections, comma-separated ("+strings.Join(sections, ", ")+
		"); prints each round's summary, no report")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *only != "" {
		c.Only = strings.Split(*only, ",")
	}
	c.AdminURL = getenv("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.Concurrency < 1 || c.Rounds < 1 || c.WorkerConc < 1 || c.SyncRows < 1:
		return errors.New("-c, -rounds, -worker-concurrency and -sync-rows must be at least 1")
	case c.Duration <= 0 && c.Requests <= 0, c.BaselineDur <= 0, c.Timeout <= 0:
		return errors.New("-duration (or -n), -baseline-duration and -timeout must be positive")
	case c.IngressConc < 1 || c.ReplayMsgs < 1 || c.EndpointConc < 1:
		return errors.New("-ingress-c, -replay-msgs and -endpoint-c must be at least 1")
	case c.IngressDur <= 0 || c.EndpointDur <= 0:
		return errors.New("-ingress-duration and -endpoint-duration must be positive")
	case len(c.Only) > 0 && c.Out != "":
		return errors.New("-only measures part of a round: it writes no report (-out)")
	}
	for _, s := range c.Only {
		if !slices.Contains(sections, s) {
			return fmt.Errorf("-only: no section %q (%s)", s, strings.Join(sections, ", "))
		}
	}
	return nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run sets up, measures every round, tears down, then reports. Teardown
// happens even when measuring fails or is interrupted.
func run(ctx context.Context, cfg config) error {
	log, err := newLogger()
	if err != nil {
		return err
	}
	b, err := setup(ctx, cfg, log)
	if err != nil {
		return err
	}
	rounds, err := b.measure(ctx)
	if cerr := b.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
	}
	if err != nil || len(cfg.Only) > 0 {
		return err
	}
	results := render(cfg, b.info, rounds)
	fmt.Print(results)
	if cfg.Out == "" {
		return nil
	}
	if err := writeResults(cfg.Out, results); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", cfg.Out)
	return nil
}

// newLogger logs at warn so the API's per-request logs stay quiet.
func newLogger() (*zap.Logger, error) {
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	return zc.Build()
}
