package worker

import (
	"context"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/store"
)

// connectionJob runs a job that decides a connection's state (a check, a
// code exchange): the decision, the connection and the job are written in
// one transaction. Only that write waits out a Postgres outage: the
// provider call is not repeated (an authorization code works once).
func (w *Worker) connectionJob(decide func(context.Context, tenantry.Command) (string, store.ConnectionOutcome, error)) apply {
	return func(ctx context.Context, cmd tenantry.Command) (msgs []tenantry.Message, err error) {
		connID, o, err := decide(ctx, cmd)
		if err != nil {
			return nil, err
		}
		err = w.await(ctx, func() (err error) { msgs, err = w.store.FinishConnectionJob(ctx, cmd.JobID, connID, o); return err })
		return msgs, err
	}
}

// refresh runs a scheduled token refresh; the refresh commits its own
// state (under the connection's lock), then the job is finished.
func (w *Worker) refresh(conns *connections.Service) apply {
	return func(ctx context.Context, cmd tenantry.Command) ([]tenantry.Message, error) {
		if err := conns.Refresh(ctx, cmd); err != nil {
			return nil, err
		}
		return nil, w.await(ctx, func() error { return w.store.CompleteJob(ctx, cmd.JobID, tenantry.JobSucceeded, "") })
	}
}
