package scheduler_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/scheduler"
)

// TestScheduledScripts: an interval script that missed ten slots while
// nothing ran is fired once, for one slot, by two schedulers racing —
// one run, one job, one message on COMMANDS — and then waits for its
// next slot.
func TestScheduledScripts(t *testing.T) {
	t.Parallel()
	ctx, st, js, pub, p := setup(t)
	accept(t, st, p.ID, "scripts")
	var account string
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT id FROM core.accounts WHERE partner_id = $1`, p.ID).Scan(&account))
	missed := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	i := &tenantry.Interface{Name: "every minute", RawCode: "x = 1", Schedule: "60", NextRunAt: &missed}
	require.NoError(t, st.CreateInterface(ctx, tenantry.Caller{PartnerID: p.ID, AccountID: account}, i))
	before := commands(t, js)

	// Two schedulers that both believe they lead (a split brain), firing
	// the same due slot at once and again, publishing what they fired.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				msgs, err := st.FireDueInterfaces(ctx, time.Now(), func(string, time.Time) *time.Time {
					next := time.Now().Truncate(time.Minute).Add(time.Minute)
					return &next
				}, 10)
				require.NoError(t, err)
				_, err = st.Send(ctx, pub, msgs...)
				require.NoError(t, err)
				_, err = st.Send(ctx, pub, msgs...) // and a re-publish
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	var runs, jobs int
	var slot time.Time
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*), min(slot) FROM core.script_runs WHERE interface_id = $1`, i.ID).Scan(&runs, &slot))
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.jobs WHERE account_id = $1 AND kind = $2`, account, tenantry.KindScriptRun).Scan(&jobs))
	require.Equal(t, 1, runs, "one run for the missed slots")
	require.Equal(t, 1, jobs)
	require.True(t, slot.Equal(missed), "the run is for the first slot missed")
	require.Equal(t, before+1, commands(t, js), "one command on COMMANDS")

	got, err := st.Interface(ctx, tenantry.Caller{PartnerID: p.ID}, i.ID)
	require.NoError(t, err)
	require.True(t, got.NextRunAt.After(time.Now()), "the next slot is in the future: %v", got.NextRunAt)

	// Real schedulers fire what is due through the leader.
	due := time.Now().Add(-time.Hour).Truncate(time.Minute)
	j := &tenantry.Interface{Name: "cron", RawCode: "x = 1", Schedule: "*/5 * * * *", NextRunAt: &due}
	require.NoError(t, st.CreateInterface(ctx, tenantry.Caller{PartnerID: p.ID, AccountID: account}, j))
	for range 2 {
		s := scheduler.New(scheduler.Config{Interval: 50 * time.Millisecond}, st, pub, zaptest.NewLogger(t))
		require.NoError(t, s.Start(ctx))
		t.Cleanup(s.Stop)
	}
	require.Eventually(t, func() bool {
		var n int
		_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.script_runs WHERE interface_id = $1`, j.ID).Scan(&n)
		return n == 1
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.script_runs WHERE interface_id = $1`, j.ID).Scan(&runs))
	require.Equal(t, 1, runs)
	got, err = st.Interface(ctx, tenantry.Caller{PartnerID: p.ID}, j.ID)
	require.NoError(t, err)
	require.Zero(t, got.NextRunAt.Minute()%5, "the next cron slot: %v", got.NextRunAt)
	require.True(t, got.NextRunAt.After(time.Now()))
}

// TestDeletedAccountScriptsDoNotFire: a deleted (or deleting) account's
// scheduled scripts stop, HTTP egress and all.
func TestDeletedAccountScriptsDoNotFire(t *testing.T) {
	t.Parallel()
	ctx, st, _, _, p := setup(t)
	accept(t, st, p.ID, "gone")
	var account string
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT id FROM core.accounts WHERE partner_id = $1`, p.ID).Scan(&account))
	due := time.Now().Add(-time.Minute)
	i := &tenantry.Interface{Name: "hourly", RawCode: "x = 1", Schedule: "3600", NextRunAt: &due}
	require.NoError(t, st.CreateInterface(ctx, tenantry.Caller{PartnerID: p.ID, AccountID: account}, i))
	_, err := st.Pool().Exec(ctx, `UPDATE core.accounts SET status = 'deprovisioning' WHERE id = $1`, account)
	require.NoError(t, err)
	next := func(string, time.Time) *time.Time { n := time.Now().Add(time.Hour); return &n }
	msgs, err := st.FireDueInterfaces(ctx, time.Now(), next, 10)
	require.NoError(t, err)
	require.Empty(t, msgs, "nothing fires for an account being deleted")

	_, err = st.Pool().Exec(ctx, `UPDATE core.accounts SET status = 'active' WHERE id = $1`, account)
	require.NoError(t, err)
	msgs, err = st.FireDueInterfaces(ctx, time.Now(), next, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the same script fires for a live account")
}
