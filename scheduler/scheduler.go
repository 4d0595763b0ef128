// Package scheduler does the work that must happen without a request.
// Any number of replicas run; one leader (a Postgres advisory lock) does
// the scanning. Today that is the outbox relay: commands and events that
// were committed but not acknowledged by JetStream (the API or worker
// died, or NATS was down, between commit and publish) are re-published
// with their original ids, which JetStream de-duplicates and workers
// treat as no-ops when already applied. The leader also queues OAuth
// token refreshes before tokens expire and periodic credential checks,
// and purges expired idempotency keys and old published outbox rows.
package scheduler

import (
	"context"
	"strconv"
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
}

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
	var purged time.Time
	for {
		if s.lead(ctx) {
			s.connectionUpkeep(ctx)
			s.relay(ctx)
			if time.Since(purged) > time.Minute {
				s.purge(ctx)
				purged = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead reports whether this replica is the leader, taking leadership if
// it is free and noticing when it was lost.
func (s *Scheduler) lead(ctx context.Context) bool {
	// A half-open connection must not stall the loop for minutes.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s.lease != nil {
		if err := s.lease.Check(ctx); err == nil {
			return true
		}
		s.log.Warn("lost scheduler leadership")
		s.resign()
	}
	lease, ok, err := s.store.TryLead(ctx, leaderLock)
	if err != nil {
		s.log.Warn("leader election", zap.Error(err))
		return false
	}
	if ok {
		s.log.Info("became scheduler leader")
		s.lease = lease
		s.leading.Store(true)
	}
	return ok
}

// Leading reports whether this scheduler currently holds leadership.
func (s *Scheduler) Leading() bool { return s.leading.Load() }

func (s *Scheduler) resign() {
	if s.lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.lease.Release(ctx)
	s.lease = nil
	s.leading.Store(false)
}

// relay re-publishes committed messages JetStream never acknowledged, and
// re-sends commands acknowledged long ago whose job no worker started.
func (s *Scheduler) relay(ctx context.Context) {
	msgs, err := s.store.Unpublished(ctx, s.cfg.RepublishAfter, s.cfg.Batch)
	if err != nil {
		s.log.Warn("scan outbox", zap.Error(err))
		return
	}
	n, err := s.store.Send(ctx, s.pub, msgs...)
	if err != nil {
		s.log.Warn("re-publish; will retry", zap.Error(err))
	}
	stale, err := s.store.StaleCommands(ctx, s.cfg.StaleAfter, s.cfg.Batch)
	if err != nil {
		s.log.Warn("scan stale commands", zap.Error(err))
	}
	n += s.resend(ctx, stale)
	if n > 0 {
		s.log.Info("re-published outbox messages", zap.Int("count", n))
	}
}

// resend publishes stale commands again under a new message id: they
// were acknowledged once, so their own id may still be inside JetStream's
// duplicate window. A worker that finds the job finished acks the copy.
func (s *Scheduler) resend(ctx context.Context, msgs []tenantry.Message) int {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		again := m
		again.ID = m.ID + ".resent-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := s.pub.Publish(ctx, again); err != nil {
			s.log.Warn("re-send stale command; will retry", zap.String("job_id", m.ID), zap.Error(err))
			break
		}
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		if err := s.store.MarkPublished(ctx, ids...); err != nil {
			s.log.Warn("mark re-sent", zap.Error(err))
		}
	}
	return len(ids)
}

// connectionUpkeep queues token refreshes (before tokens expire, and at
// least daily) and periodic credential checks (so a dead connection does
// not look healthy), fails authorizations never completed, and
// publishes all that.
func (s *Scheduler) connectionUpkeep(ctx context.Context) {
	refreshes, err := s.store.EnqueueRefreshes(ctx, time.Now().Add(s.cfg.RefreshBefore), s.cfg.RefreshEvery, s.cfg.Batch)
	if err != nil {
		s.log.Warn("queue token refreshes", zap.Error(err))
	}
	checks, err := s.store.EnqueueChecks(ctx, s.cfg.CheckEvery, s.cfg.Batch)
	if err != nil {
		s.log.Warn("queue connection checks", zap.Error(err))
	}
	expired, err := s.store.ExpireAuthorizations(ctx, s.cfg.Batch)
	if err != nil {
		s.log.Warn("expire authorizations", zap.Error(err))
	}
	if _, err := s.store.Send(ctx, s.pub, append(append(refreshes, checks...), expired...)...); err != nil {
		s.log.Warn("publish connection upkeep; will retry", zap.Error(err))
	}
}

// purge drops expired idempotency keys and old published outbox rows.
func (s *Scheduler) purge(ctx context.Context) {
	n, err := s.store.Purge(ctx, s.cfg.KeepKeys, s.cfg.KeepPublished)
	if err != nil {
		s.log.Warn("purge", zap.Error(err))
		return
	}
	if n > 0 {
		s.log.Info("purged expired rows", zap.Int64("count", n))
	}
}
