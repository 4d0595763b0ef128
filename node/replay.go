package node

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// ReplayApplied is the check a replay asks before it publishes a message
// again (events.AppliedFunc), from st: a WEBHOOKS message is applied when
// its webhook is recorded processed (a failed one runs again on a
// replay), a COMMANDS message when its job (the Tenantry-Job header)
// succeeded. A message that is no webhook or names no job is not, nor is
// anything on EVENTS: an event queued for no endpoint leaves no record
// that it was handled. Those are published again. It lives here, not in
// store, because it reads messages as webhook makes them (webhook.Key),
// and webhook imports store.
func ReplayApplied(st *store.Store) events.AppliedFunc {
	return func(ctx context.Context, stream string, msgs []events.ReplayCandidate) ([]bool, error) {
		switch stream {
		case events.StreamWebhooks:
			evs := make([]*tenantry.WebhookEvent, len(msgs))
			for i, m := range msgs {
				if account, conn, id, ok := webhook.Key(m.Subject, m.Header.Get(nats.MsgIdHdr)); ok {
					evs[i] = &tenantry.WebhookEvent{AccountID: account, ConnectionID: conn, WebhookID: id}
				} // else none: published again, and the worker decides
			}
			return st.ProcessedWebhooks(ctx, evs)
		case events.StreamCommands:
			ids := make([]string, len(msgs))
			for i, m := range msgs {
				ids[i] = m.Header.Get(tenantry.HeaderJob)
			}
			return st.SucceededJobs(ctx, ids)
		}
		return make([]bool, len(msgs)), nil
	}
}
