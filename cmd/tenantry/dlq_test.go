package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/tenantrytest"
)

// natsCLI returns a runner of the tenantry binary against sys's NATS
// and the package database, with env added to its environment.
func natsCLI(t *testing.T, sys *tenantrytest.System, env ...string) func(args ...string) (string, error) {
	t.Helper()
	bin := tenantryBinary(t)
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "NATS_URL="+sys.NATS.ClientURL(), "DATABASE_URL="+tenantrytest.DatabaseURL(t))
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

// TestDLQAndReplayCLI: a command no worker knows is dead-lettered;
// `tenantry dlq` lists, shows, redrives (it dies again: still unknown)
// and purges it; `tenantry replay` publishes a provisioning again only
// when its job did not succeed (or without DATABASE_URL), and it is
// applied once.
func TestDLQAndReplayCLI(t *testing.T) {
	sys := tenantrytest.Start(t, nil)
	run := natsCLI(t, sys)
	_, partner := sys.Partner()
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	accountID, _ := sys.Account(partner, "cli")

	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	cmd := tenantry.Command{JobID: "job_from_the_future", Kind: "subaccount.teleport", PartnerID: sys.PartnerOf(accountID), AccountID: accountID}
	require.NoError(t, events.NewPublisher(js, time.Second).Publish(context.Background(), cmd.Message()))

	var list struct {
		Items []events.DeadLetter
		Next  uint64
	}
	require.Eventually(t, func() bool {
		out, err := run("dlq", "list", "--json")
		require.NoError(t, err, out)
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		return len(list.Items) == 1
	}, 10*time.Second, 50*time.Millisecond)
	dead := list.Items[0]
	require.Equal(t, "cmd.subaccount.teleport."+accountID, dead.Subject)
	require.Equal(t, "terminated", dead.Reason)
	require.Contains(t, dead.Error, `unknown command kind "subaccount.teleport"`)

	out, err := run("dlq", "list")
	require.NoError(t, err, out)
	require.Contains(t, out, "cmd.subaccount.teleport."+accountID)
	out, err = run("dlq", "show", "1")
	require.NoError(t, err, out)
	require.Contains(t, out, `"text": "{\"job_id\":\"job_from_the_future\"`)
	out, err = run("dlq", "redrive", "--subject", "cmd.subaccount.teleport.>")
	require.NoError(t, err, out)
	require.Contains(t, out, "redriven 1 dead letter(s)")
	require.Eventually(t, func() bool {
		out, _ := run("dlq", "list", "--json")
		_ = json.Unmarshal([]byte(out), &list)
		return len(list.Items) == 1 && list.Items[0].Seq > dead.Seq
	}, 10*time.Second, 50*time.Millisecond, "still unknown: dead-lettered again")
	out, err = run("dlq", "purge", "--all")
	require.NoError(t, err, out)
	require.Contains(t, out, "purged 1 dead letter(s)")
	_, err = run("dlq", "purge")
	require.Error(t, err, "a purge names what it purges")

	out, err = run("replay", "--stream", "commands", "--subject", "cmd.subaccount.provision.>", "--since", since, "--dry-run")
	require.NoError(t, err, out)
	require.Contains(t, out, "would replay 0 of 1 matching messages", "the provisioning succeeded")
	require.Contains(t, out, "1 already applied")
	replayProvision := func(run func(...string) (string, error)) events.ReplayProgress {
		t.Helper()
		out, err := run("replay", "--stream", "COMMANDS", "--subject", "cmd.subaccount.provision.>", "--since", "1h", "--rate", "100", "--json")
		require.NoError(t, err, out)
		var p events.ReplayProgress
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &p), out)
		return p
	}
	p := replayProvision(run)
	require.Equal(t, []uint64{1, 0, 1}, []uint64{p.Matched, p.Published, p.Applied}, "a succeeded job's command is not published again")

	noDB := natsCLI(t, sys, "DATABASE_URL=")
	out, err = noDB("replay", "--stream", "COMMANDS", "--subject", "cmd.subaccount.provision.>", "--since", "1h", "--dry-run")
	require.NoError(t, err, out)
	require.Contains(t, out, "DATABASE_URL is not set: publishing every message again")
	require.Contains(t, out, "would replay 1 of 1 matching messages")
	p = replayProvision(noDB)
	require.Equal(t, []uint64{1, 0}, []uint64{p.Published, p.Applied}, "without Postgres, everything is published again")

	pool := sys.Node.Store.Pool()
	_, err = pool.Exec(context.Background(), `UPDATE core.jobs SET status = 'failed' WHERE account_id = $1 AND kind = $2`,
		accountID, tenantry.KindProvision)
	require.NoError(t, err)
	p = replayProvision(run)
	require.Equal(t, []uint64{1, 0}, []uint64{p.Published, p.Applied}, "a failed job's command is published again")

	require.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), events.StreamCommands, "worker")
		require.NoError(t, err)
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 10*time.Second, 50*time.Millisecond)
	var applied int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM core.audit_log
		WHERE account_id = $1 AND action = 'subaccount.provisioned'`, accountID).Scan(&applied))
	require.Equal(t, 1, applied, "the copies published again were acknowledged unchanged")

	out, err = run("replay", "--stream", "DLQ", "--since", "1h")
	require.Error(t, err)
	require.Contains(t, out, "stream: must be COMMANDS, EVENTS or WEBHOOKS")
}
