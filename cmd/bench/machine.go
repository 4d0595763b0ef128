package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/tenantry/tenantry/store"
)

// machine is where and how the benchmark ran.
type machine struct {
	Date      time.Time
	Command   string
	Go        string
	Platform  string
	CPUs      int
	CPUModel  string
	Postgres  string
	NATS      string
	NodePool  string // the node's Postgres pool size
	SyncWrite string // Postgres synchronous_commit
	Payload   int    // bytes of a provisioning command's body
	Record    int    // mean bytes of a synced record's JSON
}

func describe(ctx context.Context, pool *pgxpool.Pool, cfg config) (machine, error) {
	m := machine{Date: time.Now().UTC(), Command: command(os.Args[1:]), Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		NATS: "nats-server " + server.VERSION + " (embedded, file storage)"}
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit')`).
		Scan(&m.Postgres, &m.SyncWrite)
	if err != nil {
		return m, fmt.Errorf("describe postgres: %w", err)
	}
	m.Postgres = "PostgreSQL " + m.Postgres
	m.NodePool = fmt.Sprintf("%d connections", cfg.PoolMaxConns)
	if cfg.PoolMaxConns <= 0 {
		m.NodePool = fmt.Sprintf("product default, store.DefaultMaxConns = %d connections", store.DefaultMaxConns)
	}
	return m, nil
}

// command is how to repeat this run.
func command(args []string) string {
	if slices.Equal(args, []string{"-out", "docs/BENCHMARKS.md"}) {
		return "make bench"
	}
	return strings.TrimSpace("go run ./cmd/bench " + strings.Join(args, " "))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
