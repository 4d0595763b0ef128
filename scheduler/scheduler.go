// Package scheduler does the work that must happen without a request.
// Any number of replicas run; one leader (a Postgres advisory lock) does
// the scanning. Today that is the outbox relay: commands and events that
// were committed but not acknowledged by JetStream (the API or worker
// died, or NATS was down, between commit and publish) are re-published
// with their original ids, which JetStream de-duplicates and workers
// treat as no-ops when already applied. The leader also queues OAuth
// token refreshes before tokens expire and periodic credential checks,
// purges expired idempotency keys and old published outbox rows, and
// deletes records older than their retention (see Config and
// retention.go).
package scheduler

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// leaderLock is the advisory lock key the scheduler leader holds.
const leaderLock int64 = 0x74656e616e747279 // "tenantry"

// Config configures the scheduler. Zero values take the defaults.
//
// The Keep fields are retention: how long after it was created (received,
// for a webhook event) a record is kept before the leader deletes it. A
// negative value keeps that kind forever. Nothing in progress is ever
// deleted, whatever its age (see retention.go). Keep them longer than the
// streams keep messages (7 days; TENANTRY_RETENTION takes 8 at least): a
// replay decides what was already applied from these records.
type Config struct {
	Interval       time.Duration // how often the leader scans; default 1s
	RepublishAfter time.Duration // grace before an unpublished message is re-published; default 5s
	Batch          int           // messages re-published per scan; default 500
	StaleAfter     time.Duration // a published command whose job is still queued this long is sent again; default 15m
	RefreshBefore  time.Duration // refresh OAuth tokens this long before they expire; default 10m
	RefreshEvery   time.Duration // and at least this often; default 24h
	CheckEvery     time.Duration // re-check working connections' credentials this often; default 6h
	KeepKeys       time.Duration // how long Idempotency-Keys are honoured; default 24h
	KeepPublished  time.Duration // how long published outbox rows are kept; default 7 days

	KeepRuns          time.Duration // script runs (endpoint calls, scheduled and manual runs); default 30 days
	KeepWebhooks      time.Duration // webhook events, with their handler's runs; default 30 days
	KeepNotifications time.Duration // notification deliveries, with their attempts; default 30 days
	KeepLogs          time.Duration // connection logs; default 30 days
	KeepJobs          time.Duration // finished jobs, with their sync runs; default 30 days
	RetentionBatch    int           // rows deleted per statement; default 1000
	RetentionBatches  int           // statements per kind in one retention pass; default 10
	RetentionBudget   time.Duration // a retention pass starts no more statements (but each kind's first) after this long; default 500ms
}

// defaultKeep is how long each kind of record is kept by default: a month
// of history to debug and audit with, and bounded tables.
const defaultKeep = 30 * 24 * time.Hour

func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.RepublishAfter <= 0 {
		c.RepublishAfter = 5 * time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 15 * time.Minute
	}
	if c.RefreshBefore <= 0 {
		c.RefreshBefore = 10 * time.Minute
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = 24 * time.Hour
	}
	if c.CheckEvery <= 0 {
		c.CheckEvery = 6 * time.Hour
	}
	if c.KeepKeys <= 0 {
		c.KeepKeys = 24 * time.Hour
	}
	if c.KeepPublished <= 0 {
		c.KeepPublished = 7 * 24 * time.Hour
	}
	for _, keep := range []*time.Duration{&c.KeepRuns, &c.KeepWebhooks, &c.KeepNotifications, &c.KeepLogs, &c.KeepJobs} {
		if *keep == 0 {
			*keep = defaultKeep
		}
	}
	if c.RetentionBatch <= 0 {
		c.RetentionBatch = 1000
	}
	if c.RetentionBudget <= 0 {
		c.RetentionBudget = 500 * time.Millisecond
	}
	if c.RetentionBatches <= 0 {
		c.RetentionBatches = 10
	}
}

// Scheduler runs the leader loop. Start once; Stop waits for it.
type Scheduler struct {
	cfg   Config
	store *store.Store
	pub   tenantry.Publisher
	log   *zap.Logger

	lease    *store.Lease
	leading  atomic.Bool
	cancel   context.CancelFunc
	done     sync.WaitGroup
	stopOnce sync.Once
}

// New returns a scheduler.
func New(cfg Config, st *store.Store, pub tenantry.Publisher, log *zap.Logger) *Scheduler {
	cfg.defaults()
	return &Scheduler{cfg: cfg, store: st, pub: pub, log: log}
}

// Start starts the loop.
func (s *Scheduler) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done.Add(1)
	go s.run(ctx)
	return nil
}

// Stop ends the loop and gives up leadership. Safe to call twice.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.done.Wait()
	})
}

func (s *Scheduler) run(ctx context.Context) {
	defer s.done.Done()
	defer s.resign()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	var purged, expired time.Time
	backlog := false
	for {
		if s.lead(ctx) {
			s.connectionUpkeep(ctx)
			s.fireScripts(ctx)
			s.relay(ctx)
			if time.Since(purged) > time.Minute {
				s.purge(ctx)
				purged = time.Now()
			}
			// A backlog (retention newly on, a burst) drains one bounded
			// pass per tick instead of one a minute.
			if backlog || time.Since(expired) > time.Minute {
				backlog = s.expire(ctx)
				expired = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
