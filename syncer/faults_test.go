package syncer_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// startWorker runs a real cmd/worker process that can reach p, killed
// when t ends if it is still running.
func startWorker(t *testing.T, bin, natsURL, connectorsDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+tenantrytest.DatabaseURL(t), "NATS_URL="+natsURL,
		"TENANTRY_WORKER_ACK_WAIT=2s", "TENANTRY_LOG_LEVEL=warn", "TENANTRY_MASTER_KEY="+tenantrytest.MasterKey,
		"TENANTRY_CONNECTORS_DIR="+connectorsDir, "TENANTRY_EGRESS_ALLOW=127.0.0.1/32")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// A worker process killed in the middle of a sync: the next delivery
// resumes at the last committed page. Every record arrives once, no page
// is written twice, and the pages before the checkpoint are not fetched
// again.
func TestWorkerKilledMidSync(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tenantry/tenantry/cmd/worker").CombinedOutput()
	require.NoError(t, err, string(out))

	p := fakeprovider.New(t, fakeprovider.Options{})
	dir := connectorsFor(t, p)
	sys := tenantrytest.Start(t, func(c *node.Config) { c.Worker, c.ConnectorsDir = false, dir })
	victim := startWorker(t, bin, sys.NATS.ClientURL(), dir)
	f := newFixture(t, sys, p)
	const total, pages = 60, 20 // three records a page
	p.SetRecords(records(total))
	conn := f.connect()

	p.SetDelay(100 * time.Millisecond)
	job := f.requestSync(conn, map[string]any{"streams": []string{"by_cursor"}})
	ctx := context.Background()
	committed := func() (n int) {
		_ = sys.Node.Store.Pool().QueryRow(ctx, `SELECT coalesce(max(pages), 0) FROM core.sync_run_streams WHERE run_id = $1`, job).Scan(&n)
		return n
	}
	require.Eventually(t, func() bool { return committed() >= 5 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, victim.Process.Kill())
	_, _ = victim.Process.Wait()
	atKill := committed()
	require.Less(t, atKill, pages, "killed mid-sync")
	fetchedBefore := p.Requests("/api/records/cursor")

	startWorker(t, bin, sys.NATS.ClientURL(), dir)
	require.Equal(t, "succeeded", f.sys.WaitJobWithin(f.token, job, time.Minute)["status"])
	run := f.run(conn, job)
	require.Equal(t, "succeeded", run["status"], run)
	st := stream(t, run, "by_cursor")
	require.EqualValues(t, total, num(st["inserted"]), "every record inserted once")
	require.EqualValues(t, 0, num(st["updated"]), "no record written twice")
	require.EqualValues(t, pages, num(st["pages"]))
	require.Len(t, f.rows(conn, "by_cursor"), total)
	refetched := p.Requests("/api/records/cursor") - fetchedBefore
	require.LessOrEqual(t, refetched, pages-atKill+1, "resumed from the checkpoint, not from the first page")
	require.Equal(t, float64(2), f.sys.Do("GET", "/api/jobs/"+job, f.token, nil).JSON["attempts"])
}
