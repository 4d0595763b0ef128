package scheduler

import (
	"context"
	"time"

	"go.uber.org/zap"
)

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
