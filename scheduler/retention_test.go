package scheduler_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry/scheduler"
)

// TestRetention: the leader deletes expired records in bounded passes. One
// pass deletes at most RetentionBatches statements of RetentionBatch rows
// of a kind; while a backlog remains, a pass runs on every tick instead of
// once a minute, until it is drained. Young records stay, and so does a
// kind whose retention is negative.
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx, st, _, pub, p := setup(t)
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := st.Pool().Exec(ctx, q, args...)
		require.NoError(t, err)
	}
	exec(`INSERT INTO core.connection_logs (connection_id, account_id, at, level, message)
		SELECT 'srv_1', 'acc_1', now() - interval '2 days', 'info', 'old' FROM generate_series(1, 50)`)
	exec(`INSERT INTO core.connection_logs (connection_id, account_id, level, message)
		SELECT 'srv_1', 'acc_1', 'info', 'young' FROM generate_series(1, 5)`)
	// Older than the default retention: only KeepJobs < 0 keeps it.
	exec(`INSERT INTO core.jobs (id, partner_id, kind, status, created_at)
		VALUES ('job_kept', $1, 'subaccount.provision', 'failed', now() - interval '60 days')`, p.ID)
	logs := func() (n int) {
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.connection_logs`).Scan(&n))
		return n
	}

	cfg := scheduler.Config{Interval: time.Hour, KeepLogs: 24 * time.Hour, KeepJobs: -1, RetentionBatch: 10, RetentionBatches: 2}
	s := scheduler.New(cfg, st, pub, zaptest.NewLogger(t))
	require.NoError(t, s.Start(ctx))
	require.Eventually(t, func() bool { return logs() == 35 }, 5*time.Second, 10*time.Millisecond, "the first pass deletes 2×10")
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 35, logs(), "and no more: the next pass waits for the next tick (an hour)")
	s.Stop()

	cfg.Interval = 20 * time.Millisecond
	s = scheduler.New(cfg, st, pub, zaptest.NewLogger(t))
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	require.Eventually(t, func() bool { return logs() == 5 }, 5*time.Second, 10*time.Millisecond,
		"the backlog drains a pass per tick, not one a minute; the young lines stay")
	var jobs int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.jobs WHERE id = 'job_kept'`).Scan(&jobs))
	require.Equal(t, 1, jobs, "jobs are kept forever")
	s.Stop()

	// A pass out of time still makes one statement per kind, and stops.
	exec(`INSERT INTO core.connection_logs (connection_id, account_id, at, level, message)
		SELECT 'srv_1', 'acc_1', now() - interval '2 days', 'info', 'old' FROM generate_series(1, 50)`)
	cfg.Interval, cfg.RetentionBudget = time.Hour, time.Nanosecond
	s = scheduler.New(cfg, st, pub, zaptest.NewLogger(t))
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	require.Eventually(t, func() bool { return logs() == 45 }, 5*time.Second, 10*time.Millisecond, "one statement of 10")
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 45, logs(), "and no second: the budget is spent")
}
