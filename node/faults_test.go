package node_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

// buildWorker compiles cmd/worker, so tests can kill a real process.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tenantry/tenantry/cmd/worker").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func startWorker(t *testing.T, bin, natsURL string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+tenantrytest.DatabaseURL(t), "NATS_URL="+natsURL,
		"TENANTRY_WORKER_ACK_WAIT=2s", "TENANTRY_LOG_LEVEL=warn", "TENANTRY_MASTER_KEY="+tenantrytest.MasterKey)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// provisionedOnce asserts every account in ids is active and its
// provisioning was applied exactly once (one audit row, one schema).
func provisionedOnce(t *testing.T, sys *tenantrytest.System, ids []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		var status string
		var applied, schemas int
		err := sys.Node.Store.Pool().QueryRow(ctx, `SELECT a.status,
			(SELECT count(*) FROM core.audit_log l WHERE l.account_id = a.id AND l.action = 'subaccount.provisioned'),
			(SELECT count(*) FROM pg_namespace WHERE nspname = a.schema_name)
			FROM core.accounts a WHERE a.id = $1`, id).Scan(&status, &applied, &schemas)
		require.NoError(t, err)
		require.Equal(t, "active", status, id)
		require.Equal(t, 1, applied, "%s provisioned exactly once", id)
		require.Equal(t, 1, schemas, id)
	}
}

func waitActive(t *testing.T, sys *tenantrytest.System, ids []string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := sys.Node.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM core.accounts WHERE id = ANY($1) AND status = 'active'`, ids).Scan(&n)
		return err == nil && n == len(ids)
	}, within, 100*time.Millisecond, "every accepted subaccount becomes active")
}

// TestWorkerKilledMidProvisioning kills a worker process while it is
// inside the provisioning transaction of every accepted subaccount: the
// test holds a lock the transaction needs, so the worker is provably
// mid-job when it dies. A new worker must finish each job exactly once.
func TestWorkerKilledMidProvisioning(t *testing.T) {
	bin := buildWorker(t)
	sys := tenantrytest.Start(t, func(c *node.Config) { c.Worker = false })
	_, token := sys.Partner()
	ctx := context.Background()

	blocker, err := sys.Node.Store.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, `LOCK TABLE core.audit_log IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	const n = 6
	var ids, jobs []string
	for i := range n {
		r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": fmt.Sprintf("kill-%d", i)})
		require.Equal(t, 202, r.Status, string(r.Body))
		ids, jobs = append(ids, r.JSON["id"].(string)), append(jobs, r.JSON["job_id"].(string))
	}

	victim := startWorker(t, bin, sys.NATS.ClientURL())
	require.Eventually(t, func() bool {
		var waiting int
		err := sys.Node.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO core.audit_log%'`).Scan(&waiting)
		return err == nil && waiting == n
	}, 20*time.Second, 50*time.Millisecond, "the worker is inside every provisioning transaction")

	require.NoError(t, victim.Process.Kill())
	_, _ = victim.Process.Wait()
	require.NoError(t, blocker.Rollback(ctx))

	startWorker(t, bin, sys.NATS.ClientURL())
	waitActive(t, sys, ids, 30*time.Second)
	provisionedOnce(t, sys, ids)
	for _, j := range jobs {
		job := sys.WaitJob(token, j)
		require.Equal(t, "succeeded", job["status"])
		require.EqualValues(t, 2, job["attempts"], "the killed attempt and the one that finished")
	}
}

// TestNATSRestartUnderLoad restarts the nats-server while partners keep
// creating subaccounts. Every request answered 202 must end provisioned,
// exactly once; requests during the outage are accepted from Postgres and
// published by the scheduler once NATS is back.
func TestNATSRestartUnderLoad(t *testing.T) {
	dir := t.TempDir()
	ns, err := events.StartServer(dir, -1)
	require.NoError(t, err)
	url, port := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	restarted := ns
	t.Cleanup(func() { restarted.Shutdown() })

	sys := tenantrytest.StartWithNATS(t, ns, func(c *node.Config) {
		c.Scheduler = true
		c.Schedule.Interval, c.Schedule.RepublishAfter = 100*time.Millisecond, 500*time.Millisecond
		c.PublishTimeout = 500 * time.Millisecond
		c.Jobs.Consumer.AckWait = 2 * time.Second
	})
	_, token := sys.Partner()

	var mu sync.Mutex
	var accepted []string
	other, duringOutage := 0, 0
	var down atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": fmt.Sprintf("load-%d-%d", w, i)})
				mu.Lock()
				if r.Status == 202 {
					accepted = append(accepted, r.JSON["id"].(string))
					if down.Load() {
						duringOutage++
					}
				} else {
					other++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	ns.Shutdown()
	ns.WaitForShutdown()
	down.Store(true)
	time.Sleep(1500 * time.Millisecond)
	down.Store(false)
	restarted, err = events.StartServer(dir, port)
	require.NoError(t, err)
	require.Equal(t, url, restarted.ClientURL())
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	require.Zero(t, other, "no request failed: accepted means committed in Postgres")
	require.Greater(t, len(accepted), 20)
	require.Positive(t, duringOutage, "some requests were accepted while NATS was down")
	waitActive(t, sys, accepted, 60*time.Second)
	provisionedOnce(t, sys, accepted)
	t.Logf("%d subaccounts accepted across the restart (%d while NATS was down), each provisioned once",
		len(accepted), duringOutage)
}

// TestRedeliveryAfterCommitIsNoOp: a command delivered again after its
// job committed — with a fresh Nats-Msg-Id, as after JetStream's
// de-duplication window, or after a worker died between commit and ack —
// changes nothing: no second effect, no second event, no new attempt.
func TestRedeliveryAfterCommitIsNoOp(t *testing.T) {
	sys := tenantrytest.Start(t, nil)
	_, token := sys.Partner()
	r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "again"})
	require.Equal(t, 202, r.Status)
	id, jobID := r.JSON["id"].(string), r.JSON["job_id"].(string)
	require.Equal(t, "succeeded", sys.WaitJob(token, jobID)["status"])
	pid := sys.PartnerOf(id)

	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	msg := tenantry.Command{JobID: jobID, Kind: tenantry.KindProvision, PartnerID: pid, AccountID: id}.Message()
	pub := events.NewPublisher(js, time.Second)
	for i := range 3 {
		msg.ID = fmt.Sprintf("%s-again-%d", jobID, i)
		require.NoError(t, pub.Publish(context.Background(), msg))
	}
	cons, err := js.Consumer(context.Background(), events.StreamCommands, "worker")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer >= 4
	}, 10*time.Second, 20*time.Millisecond, "the worker consumed the redeliveries")

	provisionedOnce(t, sys, []string{id})
	job := sys.WaitJob(token, jobID)
	require.EqualValues(t, 1, job["attempts"], "a finished job is not started again")
	evts, err := js.Stream(context.Background(), events.StreamEvents)
	require.NoError(t, err)
	info, err := evts.Info(context.Background(), jetstream.WithSubjectFilter("evt."+id+".>"))
	require.NoError(t, err)
	require.EqualValues(t, 1, info.State.Subjects["evt."+id+".subaccount.provisioned"], "one provisioned event")
}
