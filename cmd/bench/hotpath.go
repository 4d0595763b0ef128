package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantry/tenantry"
)

// hotPath is one API route that answers 202 with a job_id: POST
// /api/subaccount (the worker provisions the tenant: DDL) or POST
// /api/servers with a secret_store connection (the worker's check
// finishes the connection as active: no DDL).
//
// It learns of each job's completion from the EVENTS stream rather than
// by polling GET /api/jobs/{id}: polling would load the API it measures,
// and its interval would blur the figure. The worker publishes the job's
// event (evt.<tenant>.subaccount.provisioned, evt.<account>.server.connected)
// only after the transaction that marks the job succeeded has committed,
// so the event's arrival is a moment when GET /api/jobs/{id} would
// already say "succeeded"; verify confirms it in Postgres after each run.
type hotPath struct {
	route   string               // "POST /api/…", for errors
	url     string               // the route's full URL
	body    func(n int64) string // the n-th request's body
	verifyQ string               // counts the jobs in $1 that succeeded ($2), and whatever else must hold
	client  *http.Client
	timeout time.Duration
	done    *completions
	seq     atomic.Int64

	// token authenticates the requests: a partner token, or an
	// end-customer token set before each run (never during one).
	token string

	mu   sync.Mutex
	jobs []string // succeeded since the last verify
}

// newSubaccountPath is POST /api/subaccount with a partner token, a
// unique external_id per request (prefix makes them unique across runs).
func newSubaccountPath(base, token, prefix string, client *http.Client, timeout time.Duration, done *completions) *hotPath {
	return &hotPath{route: "POST /api/subaccount", url: base + "/api/subaccount", token: token,
		client: client, timeout: timeout, done: done,
		body: func(n int64) string {
			return fmt.Sprintf(`{"external_id":"%s-%d","first_name":"Ada","last_name":"Lovelace",`+
				`"email":"ada@example.com","language":"en","company_name":"Analytical Engines"}`, prefix, n)
		},
		verifyQ: `SELECT count(*) FROM core.jobs WHERE id = ANY($1) AND status = $2`}
}

// newConnectionPath is POST /api/servers creating a secret_store
// connection, with an end-customer token set later (setAccount). Its
// verify also requires each job's connection to be active.
func newConnectionPath(base string, client *http.Client, timeout time.Duration, done *completions) *hotPath {
	return &hotPath{route: "POST /api/servers", url: base + "/api/servers",
		client: client, timeout: timeout, done: done,
		body: func(n int64) string {
			return fmt.Sprintf(`{"servertype_id":"secret_store","name":"b%d","secret":"x"}`, n)
		},
		verifyQ: `SELECT count(*) FROM core.jobs j JOIN core.connections c ON c.id = j.payload->>'connection_id'
			WHERE j.id = ANY($1) AND j.status = $2 AND j.kind = '` + tenantry.KindConnectionCheck + `'
			AND c.status = '` + tenantry.ConnActive + `' AND c.deleted_at IS NULL`}
}

// create is one request: the POST, then the wait for its job.
func (h *hotPath) create(ctx context.Context, _ int, start time.Time) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	_, jobID, err := h.post(ctx)
	if err != nil {
		return sample{}, err
	}
	acceptedAt := time.Since(start)
	finished, err := h.done.wait(ctx, jobID)
	if err != nil {
		return sample{}, fmt.Errorf("job %s: %w", jobID, err)
	}
	h.mu.Lock()
	h.jobs = append(h.jobs, jobID)
	h.mu.Unlock()
	return sample{accepted: acceptedAt, done: finished.Sub(start)}, nil
}

// post sends the next request and returns the id and job_id of its 202.
func (h *hotPath) post(ctx context.Context) (id, jobID string, err error) {
	var out struct {
		ID    string `json:"id"`
		JobID string `json:"job_id"`
	}
	if err := h.do(ctx, http.MethodPost, h.url, h.body(h.seq.Add(1)), http.StatusAccepted, &out); err != nil {
		return "", "", err
	}
	if out.JobID == "" {
		return "", "", fmt.Errorf("%s: no job_id in the 202", h.route)
	}
	return out.ID, out.JobID, nil
}

// do sends one request with h's token and decodes the answer, which must
// have status want, into out.
func (h *hotPath) do(ctx context.Context, method, url, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, req.URL.Path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w in %s", method, req.URL.Path, err, b)
	}
	return nil
}

// newAccount creates a subaccount through sub (the partner's path) and
// waits for it to be provisioned, then points h at it: h's requests
// carry an end-customer token for it (GET /api/subaccount/{id}/token).
// Nothing of it is timed.
func (h *hotPath) newAccount(ctx context.Context, sub *hotPath) error {
	ctx, cancel := context.WithTimeout(ctx, sub.timeout)
	defer cancel()
	id, jobID, err := sub.post(ctx)
	if err != nil {
		return fmt.Errorf("create the connections' subaccount: %w", err)
	}
	if _, err := sub.done.wait(ctx, jobID); err != nil {
		return fmt.Errorf("provision the connections' subaccount: job %s: %w", jobID, err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := sub.do(ctx, http.MethodGet, sub.url+"/"+id+"/token", "", http.StatusOK, &tok); err != nil {
		return fmt.Errorf("end-customer token: %w", err)
	}
	if tok.Token == "" {
		return fmt.Errorf("end-customer token: none in the answer")
	}
	h.token = tok.Token
	return nil
}

// verify checks in Postgres that every job seen complete since the last
// call is recorded as succeeded (and, for connections, that the
// connection is active).
func (h *hotPath) verify(ctx context.Context, pool *pgxpool.Pool) error {
	h.mu.Lock()
	jobs := h.jobs
	h.jobs = nil
	h.mu.Unlock()
	if len(jobs) == 0 {
		return nil
	}
	var ok int
	if err := pool.QueryRow(ctx, h.verifyQ, jobs, tenantry.JobSucceeded).Scan(&ok); err != nil {
		return fmt.Errorf("%s: verify jobs: %w", h.route, err)
	}
	if ok != len(jobs) {
		return fmt.Errorf("%s: verify jobs: %d of %d jobs seen complete are not succeeded in Postgres", h.route, len(jobs)-ok, len(jobs))
	}
	return nil
}
