package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/tenantrytest"
)

// TestFailJobFailsScriptRun: a script job the worker gives up on (no
// runner, an outage outlasting its deliveries) fails its run too, which
// would otherwise read "queued" forever.
func TestFailJobFailsScriptRun(t *testing.T) {
	ctx := context.Background()
	st := tenantrytest.Store(t)
	p := &tenantry.Partner{Name: "scripts"}
	require.NoError(t, st.CreatePartner(ctx, p))
	a := &tenantry.Subaccount{PartnerID: p.ID, ExternalID: "fail-job"}
	require.NoError(t, st.CreateSubaccount(ctx, a, &tenantry.Command{Kind: tenantry.KindProvision}))
	caller := tenantry.Caller{PartnerID: p.ID, AccountID: a.ID}
	i := &tenantry.Interface{Name: "noop", RawCode: "x = 1"}
	require.NoError(t, st.CreateInterface(ctx, caller, i))
	run, _, err := st.QueueScriptRun(ctx, caller, i.ID, "")
	require.NoError(t, err)

	_, err = st.FailJob(ctx, run.JobID, "no script runner is available")
	require.NoError(t, err)
	var status, kind string
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT status, error->>'kind' FROM core.script_runs WHERE job_id = $1`, run.JobID).
		Scan(&status, &kind))
	require.Equal(t, "failed", status)
	require.Equal(t, "platform", kind)
}
