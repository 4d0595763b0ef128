package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }

// setup runs an api without a worker, and returns a function that starts
// a worker (few, fast retries) on the same database and NATS.
func setup(t *testing.T) (sys *tenantrytest.System, token string, startWorker func()) {
	t.Helper()
	sys = tenantrytest.Start(t, func(c *node.Config) { c.Worker = false })
	_, token = sys.Partner()
	return sys, token, func() {
		tenantrytest.StartWithNATS(t, sys.NATS, func(c *node.Config) {
			c.API, c.Worker = false, true
			c.Jobs.Consumer = events.ConsumerConfig{MaxDeliver: 2, BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
		})
	}
}

// deadLetters returns the DLQ copies on the system's NATS.
func deadLetters(t *testing.T, sys *tenantrytest.System) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	s, err := js.Stream(context.Background(), events.StreamDLQ)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

// TestProvisioningFailsAfterRetries: a provisioning that keeps failing is
// retried MaxDeliver times, then the job is failed with a reason, the
// subaccount is failed, and the command is dead-lettered — and the failed
// subaccount can still be deleted.
func TestProvisioningFailsAfterRetries(t *testing.T) {
	sys, token, startWorker := setup(t)
	r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "doomed"})
	require.Equal(t, 202, r.Status)
	id, jobID := r.JSON["id"].(string), r.JSON["job_id"].(string)
	// A role already holding the tenant's name makes CREATE ROLE fail.
	_, err := sys.Node.Store.Pool().Exec(context.Background(), `CREATE ROLE t_`+id[len("sub_"):]+` NOLOGIN`)
	require.NoError(t, err)
	startWorker()

	job := sys.WaitJob(token, jobID)
	require.Equal(t, "failed", job["status"])
	require.EqualValues(t, 2, job["attempts"])
	require.Equal(t, "internal error; see the worker log for job "+jobID, job["error"], "no internals leak to the partner")
	acct := sys.Do("GET", "/api/subaccount/"+id, token, nil)
	require.Equal(t, "failed", acct.JSON["status"])
	require.NotEmpty(t, acct.JSON["status_reason"])

	require.Eventually(t, func() bool { return len(deadLetters(t, sys)) == 1 }, 5*time.Second, 50*time.Millisecond)
	dead := deadLetters(t, sys)[0]
	require.Equal(t, "max_deliver", dead.Header.Get(events.HeaderDLQReason))
	require.Equal(t, jobID, dead.Header.Get(tenantry.HeaderJob))
	require.Contains(t, dead.Header.Get(events.HeaderDLQError), "already exists")

	del := sys.Do("DELETE", "/api/subaccount/"+id, token, nil)
	require.Equal(t, 202, del.Status, string(del.Body))
	require.Equal(t, "succeeded", sys.WaitJob(token, del.JSON["job_id"].(string))["status"])
}

// TestUnknownJobIsDeadLettered: a command naming no job is terminated at
// once, not retried.
func TestUnknownJobIsDeadLettered(t *testing.T) {
	sys, _, startWorker := setup(t)
	startWorker()
	nc, js, err := events.Connect(sys.NATS.ClientURL(), "test")
	require.NoError(t, err)
	defer nc.Close()
	cmd := tenantry.Command{JobID: "job_nope", Kind: tenantry.KindProvision, PartnerID: "ptn_x", AccountID: "sub_x"}
	require.NoError(t, events.NewPublisher(js, time.Second).Publish(context.Background(), cmd.Message()))

	require.Eventually(t, func() bool { return len(deadLetters(t, sys)) == 1 }, 5*time.Second, 50*time.Millisecond)
	dead := deadLetters(t, sys)[0]
	require.Equal(t, "terminated", dead.Header.Get(events.HeaderDLQReason))
	require.Equal(t, "1", dead.Header.Get(events.HeaderDLQDeliveries))
	var got tenantry.Command
	require.NoError(t, json.Unmarshal(dead.Data, &got))
	require.Equal(t, cmd.JobID, got.JobID)
}

// TestPostgresOutageOutlastsRetries: Postgres is unreachable from the
// worker for far longer than the message's whole retry budget; the job
// must still run once the database is back, not be failed or stranded.
func TestPostgresOutageOutlastsRetries(t *testing.T) {
	sys, token, _ := setup(t)
	proxy, viaProxy := tenantrytest.NewPostgresProxy(t)
	tenantrytest.StartWithNATS(t, sys.NATS, func(c *node.Config) {
		c.API, c.Worker, c.DatabaseURL = false, true, viaProxy
		c.Jobs.Consumer = events.ConsumerConfig{MaxDeliver: 2, AckWait: time.Second,
			BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
	})
	proxy.Cut()
	r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": "outage"})
	require.Equal(t, 202, r.Status)
	time.Sleep(2 * time.Second) // ten times the retry budget
	queued := sys.Do("GET", "/api/jobs/"+r.JSON["job_id"].(string), token, nil)
	require.Equal(t, "queued", queued.JSON["status"], "nothing could be recorded meanwhile")
	proxy.Restore()

	job := sys.WaitJob(token, r.JSON["job_id"].(string))
	require.Equal(t, "succeeded", job["status"])
	require.EqualValues(t, 1, job["attempts"])
	require.Empty(t, deadLetters(t, sys))
}
