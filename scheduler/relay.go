package scheduler

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
)

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
