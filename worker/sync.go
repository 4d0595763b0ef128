package worker

import (
	"context"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/syncer"
)

// sync runs a sync job. A run resumes from its committed checkpoints, so
// through a Postgres outage the whole run is simply tried again.
func (w *Worker) sync(s *syncer.Syncer) apply {
	return func(ctx context.Context, cmd tenantry.Command) (msgs []tenantry.Message, err error) {
		err = w.await(ctx, func() (err error) { msgs, err = s.Run(ctx, cmd.JobID); return err })
		return msgs, err
	}
}
