package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// replaySetup makes a partner with n subaccounts, each with its
// provisioning job still queued.
func replaySetup(t *testing.T, n int) (*store.Store, []*tenantry.Subaccount, []string) {
	t.Helper()
	ctx := context.Background()
	st := tenantrytest.Store(t)
	p := &tenantry.Partner{Name: "replay"}
	require.NoError(t, st.CreatePartner(ctx, p))
	accounts, jobs := make([]*tenantry.Subaccount, n), make([]string, n)
	for i := range accounts {
		accounts[i] = &tenantry.Subaccount{PartnerID: p.ID, ExternalID: fmt.Sprintf("replay-%d", i)}
		cmd := &tenantry.Command{Kind: tenantry.KindProvision}
		require.NoError(t, st.CreateSubaccount(ctx, accounts[i], cmd))
		jobs[i] = cmd.JobID
	}
	return st, accounts, jobs
}

// TestProcessedWebhooks: a webhook counts as applied only when recorded
// processed, under its own account, connection and webhook id.
func TestProcessedWebhooks(t *testing.T) {
	ctx := context.Background()
	st, accounts, _ := replaySetup(t, 2)
	a, b := accounts[0], accounts[1]
	hook := func(account *tenantry.Subaccount, webhookID string) *tenantry.WebhookEvent {
		return &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: account.PartnerID, AccountID: account.ID,
			WebhookID: webhookID, Body: []byte(`{}`), ReceivedAt: time.Now()}
	}
	processed, received, failed := hook(a, "processed"), hook(a, "received"), hook(a, "failed")
	for seq, ev := range []*tenantry.WebhookEvent{processed, received, failed} {
		status := tenantry.WebhookReceived
		if ev == processed {
			status = tenantry.WebhookProcessed
		}
		_, inserted, err := st.RecordWebhook(ctx, ev, uint64(seq+1), status)
		require.NoError(t, err)
		require.True(t, inserted)
	}
	_, err := st.FinishWebhook(ctx, failed, nil, tenantry.WebhookFailed, "bug")
	require.NoError(t, err)

	retry := hook(a, "processed") // the producer sent it again: another event id, the same delivery
	otherConn := hook(a, "processed")
	otherConn.ConnectionID = "srv_other"
	got, err := st.ProcessedWebhooks(ctx, []*tenantry.WebhookEvent{processed, received, failed, hook(a, "never"),
		hook(b, "processed"), otherConn, nil, retry})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false, false, false, false, false, true}, got)

	got, err = st.ProcessedWebhooks(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestSucceededJobs: a command counts as applied only when its job
// succeeded.
func TestSucceededJobs(t *testing.T) {
	ctx := context.Background()
	st, _, jobs := replaySetup(t, 4)
	succeeded, failed, running, queued := jobs[0], jobs[1], jobs[2], jobs[3]
	_, err := st.ProvisionSubaccount(ctx, succeeded)
	require.NoError(t, err)
	_, err = st.FailJob(ctx, failed, "bug")
	require.NoError(t, err)
	_, err = st.StartJob(ctx, running)
	require.NoError(t, err)

	got, err := st.SucceededJobs(ctx, []string{succeeded, failed, running, queued, "job_unknown", "", succeeded})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false, false, false, false, true}, got)
}
