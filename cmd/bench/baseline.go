package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
)

// baselines are the raw operations the hot path is made of, run against
// the same Postgres and nats-server without tenantry's code around them.
type baselines struct {
	pool   *pgxpool.Pool // sized to the concurrency, so it never queues
	pub    *events.Publisher
	cmd    tenantry.Message // a provisioning command, as the API publishes it
	prefix string           // makes role names unique across runs of the program
	seq    atomic.Int64

	mu    sync.Mutex
	roles []string // created by ddl and not yet dropped
}

// newBaselines creates a BENCH stream configured like COMMANDS and a
// one-row-per-worker counter table.
func newBaselines(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, conc int, prefix, partnerID string) (*baselines, error) {
	sc := events.StreamConfigs(1)[0] // COMMANDS: same storage, limits and duplicate window
	sc.Name, sc.Subjects = "BENCH", []string{"bench.>"}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil, fmt.Errorf("create BENCH stream: %w", err)
	}
	_, err := pool.Exec(ctx, `CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint NOT NULL)`)
	if err == nil {
		_, err = pool.Exec(ctx, `INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, $1 - 1) g`, conc)
	}
	if err != nil {
		return nil, fmt.Errorf("create bench_counter: %w", err)
	}
	cmd := tenantry.Command{JobID: store.NewID("job"), Kind: tenantry.KindProvision, PartnerID: partnerID,
		AccountID: store.NewID("sub"), RequestID: strings.Repeat("0", 24)}
	m := cmd.Message()
	m.Subject = "bench." + m.Subject
	return &baselines{pool: pool, pub: events.NewPublisher(js, 5*time.Second), cmd: m, prefix: prefix}, nil
}

// publish is a synchronous JetStream publish with a fresh Nats-Msg-Id,
// through the same events.Publisher the API uses.
func (b *baselines) publish(ctx context.Context, _ int, start time.Time) (sample, error) {
	m := b.cmd
	m.ID = store.NewID("job")
	if err := b.pub.Publish(ctx, m); err != nil {
		return sample{}, err
	}
	return sample{done: time.Since(start)}, nil
}

// update commits one autocommit UPDATE of worker w's own row.
func (b *baselines) update(ctx context.Context, w int, start time.Time) (sample, error) {
	if _, err := b.pool.Exec(ctx, `UPDATE bench_counter SET n = n + 1 WHERE id = $1`, w); err != nil {
		return sample{}, fmt.Errorf("update: %w", err)
	}
	return sample{done: time.Since(start)}, nil
}

// ddl runs provisioning's DDL alone, in one transaction.
func (b *baselines) ddl(ctx context.Context, _ int, start time.Time) (sample, error) {
	name := fmt.Sprintf("bench_ddl_%s_%d", b.prefix, b.seq.Add(1))
	b.mu.Lock()
	b.roles = append(b.roles, name)
	b.mu.Unlock()
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		for _, q := range store.ProvisionDDL(name) {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sample{}, fmt.Errorf("ddl: %w", err)
	}
	return sample{done: time.Since(start)}, nil
}

// dropRoles drops the schemas and roles ddl created, so that thousands
// of them do not slow the rounds that follow. It is not timed.
func (b *baselines) dropRoles(ctx context.Context) error {
	b.mu.Lock()
	roles := b.roles
	b.roles = nil
	b.mu.Unlock()
	return inBatches(roles, func(idents string) error {
		if _, err := b.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+idents+` CASCADE`); err != nil {
			return fmt.Errorf("drop ddl schemas: %w", err)
		}
		if _, err := b.pool.Exec(ctx, `DROP ROLE IF EXISTS `+idents); err != nil {
			return fmt.Errorf("drop ddl roles: %w", err)
		}
		return nil
	})
}

// inBatches calls fn with names as a list of quoted identifiers, a few
// hundred at a time.
func inBatches(names []string, fn func(idents string) error) error {
	for len(names) > 0 {
		batch := names[:min(len(names), 200)]
		names = names[len(batch):]
		idents := make([]string, len(batch))
		for i, n := range batch {
			idents[i] = pgx.Identifier{n}.Sanitize()
		}
		if err := fn(strings.Join(idents, ", ")); err != nil {
			return err
		}
	}
	return nil
}
