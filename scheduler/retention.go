package scheduler

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// retained is one kind of record the leader deletes once it is older than
// keep.
type retained struct {
	name   string // as logged
	keep   time.Duration
	delete func(ctx context.Context, before time.Time, limit int) (int64, error)
}

func (s *Scheduler) retained() []retained {
	return []retained{
		{"script_runs", s.cfg.KeepRuns, s.store.DeleteScriptRunsBefore},
		{"webhook_events", s.cfg.KeepWebhooks, s.store.DeleteWebhookEventsBefore},
		{"notification_deliveries", s.cfg.KeepNotifications, s.store.DeleteDeliveriesBefore},
		{"connection_logs", s.cfg.KeepLogs, s.store.DeleteConnectionLogsBefore},
		{"jobs", s.cfg.KeepJobs, s.store.DeleteJobsBefore},
	}
}

// expire runs one retention pass: for each kind, up to RetentionBatches
// statements of at most RetentionBatch rows, oldest first, none but each
// kind's first started after RetentionBudget, so a pass is bounded however large the backlog
// and the leader's other work (the outbox relay, refreshes) waits little.
// It reports whether a kind may have more to delete (its last statement
// was full, or the budget ran out), for the loop to run another pass on
// its next tick.
func (s *Scheduler) expire(ctx context.Context) (backlog bool) {
	now := time.Now()
	until := now.Add(s.cfg.RetentionBudget)
	var counts []zap.Field
	for _, k := range s.retained() {
		if k.keep < 0 {
			continue
		}
		n, more := s.expireKind(ctx, k, now.Add(-k.keep), until)
		backlog = backlog || more
		if n > 0 {
			counts = append(counts, zap.Int64(k.name, n))
		}
	}
	if len(counts) > 0 {
		s.log.Info("deleted expired records", append(counts, zap.Bool("backlog", backlog))...)
	}
	return backlog
}

// expireKind deletes k's records created before before, starting no
// statement after until but the first, and reports how many went and
// whether more may be left.
func (s *Scheduler) expireKind(ctx context.Context, k retained, before, until time.Time) (total int64, more bool) {
	for range s.cfg.RetentionBatches {
		n, err := k.delete(ctx, before, s.cfg.RetentionBatch)
		total += n
		if err != nil {
			s.log.Warn("delete expired records", zap.String("kind", k.name), zap.Error(err))
			return total, false
		}
		if n < int64(s.cfg.RetentionBatch) {
			return total, false
		}
		if time.Now().After(until) {
			return total, true
		}
	}
	return total, true
}
