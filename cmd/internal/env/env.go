// Package env reads tenantry's configuration from the environment; only
// cmd/* reads the environment.
//
//	DATABASE_URL               Postgres (default postgres://postgres@127.0.0.1:5432/tenantry?sslmode=disable)
//	NATS_URL                   NATS (default nats://127.0.0.1:4222; `tenantry dev` embeds its own)
//	TENANTRY_MASTER_KEY        master key(s) sealing secrets: "id:base64[,id:base64…]"
//	TENANTRY_ADDR              api listen address (default 127.0.0.1:8080)
//	TENANTRY_METRICS_ADDR      worker/scheduler: where /metrics and /healthz listen (default off)
//	TENANTRY_STREAM_REPLICAS   JetStream replicas (default 1; 3 on a cluster)
//	TENANTRY_ISSUER            JWT issuer (default tenantry)
//	TENANTRY_WORKER_CONCURRENCY jobs run at once per worker (default 8)
//	TENANTRY_WORKER_ACK_WAIT    redelivery after a silent worker, e.g. 30s (default 30s)
//	TENANTRY_LOG_LEVEL         debug|info|warn|error (default info)
//	TENANTRY_DATA_DIR          `tenantry dev` state directory (default ./.tenantry)
//	TENANTRY_PUBLIC_URL        where browsers reach the API (OAuth callbacks); default http://<TENANTRY_ADDR>
//	TENANTRY_CONNECTORS_DIR    custom connector definitions (YAML), added to the embedded catalog
//	TENANTRY_EGRESS_ALLOW      networks exempt from the egress guard, e.g. 10.1.0.0/16,192.168.5.7
//	TENANTRY_OAUTH_<ID>_CLIENT_ID / _CLIENT_SECRET  the operator's OAuth client for connector <id>
//	TENANTRY_ADMIN_TOKEN       operator token(s), comma-separated, for /api/admin (DLQ, replay); unset: no admin API
//	TENANTRY_SYNC_STALL_TIMEOUT a sync stream failing to deliver a page this long is stalled (default 5m)
//	TENANTRY_SCRIPT_REQUIRE_ISOLATION true: refuse to run scripts unless every sandbox layer is on (default false: log the gaps)
//	TENANTRY_TRUSTED_PROXIES   reverse proxies in front of the api (IPs or CIDRs): X-Forwarded-For from them names the client
//	TENANTRY_RATE_LIMITS       per-credential quotas, e.g. read=6000/1m,write=3000/1m,auth=60/1m, or off (see docs/auth.md)
//	TENANTRY_RETENTION         how long records are kept, e.g. 90d,logs=14d,webhooks=off (default 30d each; at least 8d)
package env

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/node"
)

// DefaultDatabaseURL is used when DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tenantry?sslmode=disable"

// Get returns the variable name, or def when it is unset or empty.
func Get(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// DataDir is where `tenantry dev` keeps its state.
func DataDir() string { return Get("TENANTRY_DATA_DIR", ".tenantry") }

// MasterKey returns TENANTRY_MASTER_KEY, or the dev key file's content.
func MasterKey() string {
	if v := os.Getenv("TENANTRY_MASTER_KEY"); v != "" {
		return v
	}
	b, err := os.ReadFile(filepath.Join(DataDir(), "master.key"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Config fills cfg (whose roles are set) from the environment.
func Config(cfg node.Config) (node.Config, error) {
	cfg.DatabaseURL = Get("DATABASE_URL", DefaultDatabaseURL)
	cfg.NATSURL = Get("NATS_URL", "nats://127.0.0.1:4222")
	cfg.MasterKey = MasterKey()
	cfg.Addr = Get("TENANTRY_ADDR", "127.0.0.1:8080")
	cfg.MetricsAddr = os.Getenv("TENANTRY_METRICS_ADDR")
	var err error
	if cfg.StreamReplicas, err = intVar("TENANTRY_STREAM_REPLICAS", 1); err != nil {
		return cfg, err
	}
	if cfg, err = Settings(cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Settings fills what every way of running tenantry reads the same way,
// `tenantry dev` included: everything but where to connect and listen.
func Settings(cfg node.Config) (node.Config, error) {
	cfg.Auth.Issuer = os.Getenv("TENANTRY_ISSUER")
	cfg.Connections.PublicURL = os.Getenv("TENANTRY_PUBLIC_URL")
	cfg.ConnectorsDir = os.Getenv("TENANTRY_CONNECTORS_DIR")
	cfg.Connections.OAuthClients = OAuthClients()
	cfg.Webhooks.AdminTokens = strings.FieldsFunc(os.Getenv("TENANTRY_ADMIN_TOKEN"), func(r rune) bool { return r == ',' || r == ' ' })
	var err error
	if cfg.EgressAllow, err = egress.ParseAllow(os.Getenv("TENANTRY_EGRESS_ALLOW")); err != nil {
		return cfg, fmt.Errorf("TENANTRY_EGRESS_ALLOW: %s", tenantry.ErrorMessage(err))
	}
	if cfg.HTTP.RateLimits, err = handlers.ParseRateLimits(os.Getenv("TENANTRY_RATE_LIMITS")); err != nil {
		return cfg, fmt.Errorf("TENANTRY_RATE_LIMITS: %s", tenantry.ErrorMessage(err))
	}
	if cfg.HTTP.RateLimits.TrustedProxies, err = egress.ParseAllow(os.Getenv("TENANTRY_TRUSTED_PROXIES")); err != nil {
		return cfg, fmt.Errorf("TENANTRY_TRUSTED_PROXIES: %s", tenantry.ErrorMessage(err))
	}
	if err = retention(&cfg.Schedule, os.Getenv("TENANTRY_RETENTION")); err != nil {
		return cfg, err
	}
	if cfg.Jobs.Consumer.Concurrency, err = intVar("TENANTRY_WORKER_CONCURRENCY", 8); err != nil {
		return cfg, err
	}
	if cfg.Jobs.Consumer.AckWait, err = durationVar("TENANTRY_WORKER_ACK_WAIT", 30*time.Second); err != nil {
		return cfg, err
	}
	if cfg.Jobs.Sync.StallTimeout, err = durationVar("TENANTRY_SYNC_STALL_TIMEOUT", 5*time.Minute); err != nil {
		return cfg, err
	}
	switch v := os.Getenv("TENANTRY_SCRIPT_REQUIRE_ISOLATION"); v {
	case "", "0", "false":
	case "1", "true":
		cfg.Scripts.RequireIsolation = true
	default:
		return cfg, fmt.Errorf("TENANTRY_SCRIPT_REQUIRE_ISOLATION=%q: want true or false", v)
	}
	return cfg, nil
}

// durationVar reads a duration of at least a second.
func durationVar(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration of at least 1s", name, v)
	}
	return d, nil
}

// OAuthClients reads the operator's OAuth clients from
// TENANTRY_OAUTH_<ID>_CLIENT_ID and _CLIENT_SECRET (ID in upper case).
func OAuthClients() map[string]connections.Client {
	out := map[string]connections.Client{}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		rest, isOAuth := strings.CutPrefix(name, "TENANTRY_OAUTH_")
		id, isClientID := strings.CutSuffix(rest, "_CLIENT_ID")
		if !isOAuth || !isClientID || id == "" {
			continue
		}
		out[strings.ToLower(id)] = connections.Client{ID: value, Secret: os.Getenv("TENANTRY_OAUTH_" + id + "_CLIENT_SECRET")}
	}
	return out
}

func intVar(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}

// Logger builds the process logger: JSON, at TENANTRY_LOG_LEVEL.
func Logger() (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.EncoderConfig.TimeKey, cfg.EncoderConfig.EncodeTime = "ts", zapcore.ISO8601TimeEncoder
	if err := cfg.Level.UnmarshalText([]byte(Get("TENANTRY_LOG_LEVEL", "info"))); err != nil {
		return nil, fmt.Errorf("TENANTRY_LOG_LEVEL: %w", err)
	}
	return cfg.Build()
}

// Main runs the roles set in cfg until SIGINT or SIGTERM, then stops
// them; it exits non-zero if they cannot start.
func Main(cfg node.Config) {
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "tenantry:", err)
		os.Exit(1)
	}
}

func run(cfg node.Config) error {
	log, err := Logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if cfg, err = Config(cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	n.Stop()
	return nil
}
