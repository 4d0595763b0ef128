package scheduler

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry/script"
)

// fireScripts queues the scheduled script runs that are due and
// publishes them; what is not published now, the relay publishes later.
func (s *Scheduler) fireScripts(ctx context.Context) {
	msgs, err := s.store.FireDueInterfaces(ctx, time.Now(), nextSlot, s.cfg.Batch)
	if err != nil {
		s.log.Warn("fire scheduled scripts", zap.Error(err))
		return
	}
	if len(msgs) == 0 {
		return
	}
	if _, err := s.store.Send(ctx, s.pub, msgs...); err != nil {
		s.log.Warn("publish scheduled scripts; the relay will re-publish", zap.Error(err))
	}
	s.log.Info("fired scheduled scripts", zap.Int("count", len(msgs)))
}

// nextSlot is a schedule's first slot after after; nil unschedules a
// schedule that no longer parses.
func nextSlot(schedule string, after time.Time) *time.Time {
	sched, err := script.ParseSchedule(schedule)
	if err != nil {
		return nil
	}
	next := sched.Next(after)
	return &next
}
