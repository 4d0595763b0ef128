package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantry/tenantry"
)

// ingressBodySize is the webhook body's size in bytes.
const ingressBodySize = 1024

// ingressBody is a producer's JSON event of exactly size bytes (at
// least its envelope's): an invoice event padded with a note.
func ingressBody(size int) []byte {
	const head = `{"id":"evt_bench","type":"invoice.paid","created":1767225600,` +
		`"data":{"object":{"id":"in_bench","amount_due":4200,"currency":"eur","note":"`
	const tail = `"}}}`
	return []byte(head + strings.Repeat("x", max(0, size-len(head)-len(tail))) + tail)
}

// ingressPath is webhook ingress as a producer sees it: a POST of the
// body, with a webhook-id of its own, to url, answered 202. For an
// account's built-in URL the API answers only after JetStream has
// acknowledged the webhook; settle then waits for the worker to record
// each one. The bare handler is driven by the same code, its url
// pointing at it (and no account to settle).
type ingressPath struct {
	name    string // for errors: the URL holds a secret
	url     string
	account string
	body    []byte
	client  *http.Client
	timeout time.Duration
	pool    *pgxpool.Pool  // to find the recorded webhooks
	stream  *webhookStream // to wait for the worker
	seq     atomic.Int64

	mu    sync.Mutex
	acked []string // webhook ids answered 202 since the last take
}

// post sends the next webhook and waits for its 202.
func (p *ingressPath) post(ctx context.Context, _ int, start time.Time) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	id := "bench-" + strconv.FormatInt(p.seq.Add(1), 10)
	status, body, err := send(ctx, p.client, p.url, p.body, http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {id}})
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	if status != http.StatusAccepted {
		return sample{}, fmt.Errorf("%s: %d: %.300s", p.name, status, body)
	}
	p.mu.Lock()
	p.acked = append(p.acked, id)
	p.mu.Unlock()
	return sample{done: time.Since(start)}, nil
}

// take returns the webhook ids answered 202 since the last call.
func (p *ingressPath) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.acked
	p.acked = nil
	return ids
}

// settled is what settle found of the webhooks answered 202 since its
// last call.
type settled struct {
	ids   []string
	last  uint64        // WEBHOOKS's last sequence when the wait began
	drain time.Duration // from then until the worker had processed every message up to last
}

// settle waits until the worker has processed every webhook answered
// 202 since the last call, and checks that each is recorded once, as
// processed.
func (p *ingressPath) settle(ctx context.Context) (s settled, err error) {
	s.ids = p.take()
	start := time.Now()
	if s.last, err = p.stream.lastSeq(ctx); err != nil {
		return s, err
	}
	if err := p.stream.waitAcked(ctx, s.last); err != nil {
		return s, fmt.Errorf("%s: %w", p.name, err)
	}
	s.drain = time.Since(start)
	return s, p.processed(ctx, s.ids)
}

// processed checks that the worker recorded each of ids as processed.
// A delivery is unique to its account, source and webhook id, so the
// count cannot include a webhook twice.
func (p *ingressPath) processed(ctx context.Context, ids []string) error {
	var n int
	err := p.pool.QueryRow(ctx, `SELECT count(*) FROM core.webhook_events WHERE account_id = $1 AND connection_id = ''
		AND webhook_id = ANY($2) AND status = $3`, p.account, ids, tenantry.WebhookProcessed).Scan(&n)
	if err != nil {
		return fmt.Errorf("%s: count the recorded webhooks: %w", p.name, err)
	}
	if n != len(ids) {
		return fmt.Errorf("%s: %d of the %d webhooks answered 202 are recorded as processed", p.name, n, len(ids))
	}
	return nil
}

// send POSTs body to url and returns the answer's status and body, read
// in full so that the connection is kept alive.
func send(ctx context.Context, client *http.Client, url string, body []byte, h http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// loadClient keeps at most conns connections to each host, alive between
// requests: a closed-loop client of conns clients holds one each.
func loadClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DisableCompression: true}}
}
