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

// hotPath creates subaccounts through the API and learns of each one's
// completion from the EVENTS stream rather than by polling
// GET /api/jobs/{id}: polling would load the API it measures, and its
// interval would blur the figure. The worker publishes
// evt.<tenant>.subaccount.provisioned only after the transaction that
// marks the job succeeded has committed, so the event's arrival is a
// moment when GET /api/jobs/{id} would already say "succeeded"; verify
// confirms it in Postgres after each run.
type hotPath struct {
	url     string // the API's base URL
	token   string // a partner token
	client  *http.Client
	timeout time.Duration
	done    *completions
	prefix  string // makes external ids unique across runs of the program
	seq     atomic.Int64

	mu   sync.Mutex
	jobs []string // succeeded since the last verify
}

// create is one request: POST /api/subaccount, then the wait for its job.
func (h *hotPath) create(ctx context.Context, _ int, start time.Time) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	jobID, err := h.post(ctx)
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

func (h *hotPath) post(ctx context.Context) (jobID string, err error) {
	body := fmt.Sprintf(`{"external_id":"%s-%d","first_name":"Ada","last_name":"Lovelace",`+
		`"email":"ada@example.com","language":"en","company_name":"Analytical Engines"}`, h.prefix, h.seq.Add(1))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/api/subaccount", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST /api/subaccount: %s: %s", resp.Status, b)
	}
	var out struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.JobID == "" {
		return "", fmt.Errorf("POST /api/subaccount: no job_id in %s", b)
	}
	return out.JobID, nil
}

// verify checks in Postgres that every job seen complete since the last
// call is recorded as succeeded.
func (h *hotPath) verify(ctx context.Context, pool *pgxpool.Pool) error {
	h.mu.Lock()
	jobs := h.jobs
	h.jobs = nil
	h.mu.Unlock()
	var ok int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM core.jobs WHERE id = ANY($1) AND status = $2`,
		jobs, tenantry.JobSucceeded).Scan(&ok)
	if err != nil {
		return fmt.Errorf("verify jobs: %w", err)
	}
	if ok != len(jobs) {
		return fmt.Errorf("verify jobs: %d of %d jobs seen complete are not succeeded in Postgres", len(jobs)-ok, len(jobs))
	}
	return nil
}
