package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenantry/tenantry"
)

// EndpointRun is one call to a published endpoint, recorded as a script
// run with trigger "endpoint" and no job.
type EndpointRun struct {
	ID, EndpointID, InterfaceID, PartnerID, AccountID string
	Outcome                                           RunOutcome // Result is the response's status, {"status": 200}
	StartedAt, FinishedAt                             time.Time
}

// RecordEndpointRuns inserts finished endpoint runs, in one statement.
// They are bookkeeping: written without waiting for the WAL flush, so a
// Postgres crash may lose the last few.
func (s *Store) RecordEndpointRuns(ctx context.Context, runs []EndpointRun) error {
	n := len(runs)
	ids, endpoints, ifcs, partners, accounts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	statuses, logs := make([]string, n), make([]string, n)
	results, errs := make([]*string, n), make([]*string, n)
	steps, durations := make([]int64, n), make([]int64, n)
	started, finished := make([]time.Time, n), make([]time.Time, n)
	for i, r := range runs {
		o := r.Outcome
		ids[i], endpoints[i], ifcs[i], partners[i], accounts[i] = r.ID, r.EndpointID, r.InterfaceID, r.PartnerID, r.AccountID
		statuses[i], logs[i] = tenantry.JobSucceeded, validText(tailText(o.Log, maxRunLog))
		if o.Error != nil {
			statuses[i] = tenantry.JobFailed
			b, _ := json.Marshal(o.Error)
			errs[i] = ptr(validText(string(b)))
		}
		if len(o.Result) > 0 {
			results[i] = ptr(string(o.Result))
		}
		steps[i], durations[i], started[i], finished[i] = o.Steps, o.DurationMS, r.StartedAt, r.FinishedAt
	}
	err := s.relaxed(ctx, `INSERT INTO core.script_runs (id, endpoint_id, interface_id, partner_id, account_id, job_id,
			trigger, status, log, result, error, steps, duration_ms, created_at, started_at, finished_at)
		SELECT id, ept, ifc, partner, account, '', $14, status, log, result::jsonb, error::jsonb, steps, duration,
			started, started, finished
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::int8[], $11::int8[], $12::timestamptz[], $13::timestamptz[])
			AS r(id, ept, ifc, partner, account, status, log, result, error, steps, duration, started, finished)`,
		[]any{ids, endpoints, ifcs, partners, accounts, statuses, logs, results, errs, steps, durations, started, finished,
			tenantry.TriggerEndpoint}, nil)
	return translate(err, "record endpoint runs")
}

// tailText is the end of s, at most max bytes, marked as cut.
func tailText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return "…" + s[len(s)-max:]
}

func ptr[T any](v T) *T { return &v }
