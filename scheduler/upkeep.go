package scheduler

import (
	"context"
	"slices"
	"time"

	"go.uber.org/zap"
)

// connectionUpkeep queues token refreshes (before tokens expire, and at
// least daily), periodic credential checks (so a dead connection does
// not look healthy) and scheduled syncs, fails authorizations never
// completed, and publishes all that.
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
	syncs, err := s.store.QueueDueSyncs(ctx, s.cfg.Batch)
	if err != nil {
		s.log.Warn("queue scheduled syncs", zap.Error(err))
	}
	msgs := slices.Concat(refreshes, checks, expired, syncs)
	if _, err := s.store.Send(ctx, s.pub, msgs...); err != nil {
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
