package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// The published handlers: a trivial one, and a realistic one that reads
// the JSON body, 100 rows of the warehouse and answers them as JSON.
const (
	trivialHandler = `def handler(request):
    return {"ok": True}
`
	realisticHandler = `def handler(request):
    body = request["data"]
    dw = pq.dbconnect("dw")
    rows = dw.fetch("dw", None, "bench_items", where="deleted_at IS NULL ORDER BY key", limit=int(body["limit"]))
    return {"id": body["id"], "count": len(rows), "rows": rows}
`
)

// endpointBench calls two published endpoints of a subaccount of its
// own, and the bare handler, with the same client and body.
type endpointBench struct {
	trivial, realistic string   // the endpoints' URLs
	bare, relay        string   // the bare handler's /endpoint and /relay
	keys               []string // the seeded rows' keys, in order
	client             *http.Client
	timeout            time.Duration
	seq                atomic.Int64
}

// endpointRound is one round's endpoint calls and their baselines.
type endpointRound struct {
	Trivial, Realistic, Bare stat
	Relay                    stat // the bare handler, relaying over NATS request/reply
}

// prepareEndpoints makes the subaccount, publishes the two handlers
// (POST, auth public), seeds the rows and calls each once. Not timed.
func (b *bench) prepareEndpoints(ctx context.Context) error {
	api, err := b.newAccountClient(ctx, "published endpoints")
	if err != nil {
		return err
	}
	e := &endpointBench{bare: b.bare.URL + "/endpoint", relay: b.bare.URL + "/relay", client: b.load, timeout: b.cfg.Timeout}
	base := "http://" + b.node.Addr()
	var account string
	if e.trivial, account, err = publishHandler(ctx, api, base, "bench_trivial", "/trivial", trivialHandler); err != nil {
		return err
	}
	if e.realistic, _, err = publishHandler(ctx, api, base, "bench_realistic", "/realistic", realisticHandler); err != nil {
		return err
	}
	if e.keys, err = seedRows(ctx, b.node.Store, account); err != nil {
		return err
	}
	b.endpoints = e
	for _, run := range []op{e.callTrivial, e.callRealistic, e.callBare, e.callRelay} {
		if _, err := checked(ctx, "published endpoints, first call", closedLoop(ctx, 1, budget{n: 1}, run)); err != nil {
			return err
		}
	}
	return b.bare.check("bare handler (endpoints)", 2)
}

// publishHandler creates an interface of code and publishes its handler
// at path, and returns the endpoint's URL and account.
func publishHandler(ctx context.Context, api *hotPath, base, name, path, code string) (url, account string, err error) {
	body, _ := json.Marshal(map[string]string{"name": name, "raw_code": code}) // strings: cannot fail
	var ifc struct {
		ID string `json:"id"`
	}
	if err := api.do(ctx, http.MethodPost, base+"/api/interface", string(body), http.StatusCreated, &ifc); err != nil {
		return "", "", fmt.Errorf("interface %s: %w", name, err)
	}
	body, _ = json.Marshal(map[string]string{"path": path, "method": http.MethodPost, "interface_id": ifc.ID, "auth": "public"})
	var ep struct {
		URL       string `json:"url"`
		AccountID string `json:"subaccount_id"`
	}
	if err := api.do(ctx, http.MethodPost, base+"/api/endpoints", string(body), http.StatusCreated, &ep); err != nil {
		return "", "", fmt.Errorf("endpoint %s: %w", path, err)
	}
	return ep.URL, ep.AccountID, nil
}

// measureEndpoints runs the two endpoints for d each and the bare
// handler, alone and relaying over NATS, for baseD each, checking every
// answer.
func (b *bench) measureEndpoints(ctx context.Context, d, baseD time.Duration) (r endpointRound, err error) {
	e := b.endpoints
	for _, p := range []struct {
		name string
		d    time.Duration
		run  op
		into *stat
	}{
		{"published endpoint, trivial handler", d, e.callTrivial, &r.Trivial},
		{"published endpoint, realistic handler", d, e.callRealistic, &r.Realistic},
		{"bare handler (endpoints)", baseD, e.callBare, &r.Bare},
		{"bare handler relaying over NATS (endpoints)", baseD, e.callRelay, &r.Relay},
	} {
		res, err := checked(ctx, p.name, closedLoop(ctx, b.cfg.EndpointConc, budget{d: p.d}, p.run))
		if err != nil {
			return r, err
		}
		*p.into = summarize(res, done)
	}
	return r, b.bare.check("bare handler (endpoints)", r.Bare.N+r.Relay.N)
}

func (e *endpointBench) callTrivial(ctx context.Context, _ int, start time.Time) (sample, error) {
	return e.call(ctx, start, e.trivial, checkOK)
}

func (e *endpointBench) callRealistic(ctx context.Context, _ int, start time.Time) (sample, error) {
	return e.call(ctx, start, e.realistic, e.checkRows)
}

func (e *endpointBench) callBare(ctx context.Context, _ int, start time.Time) (sample, error) {
	return e.call(ctx, start, e.bare, checkOK)
}

func (e *endpointBench) callRelay(ctx context.Context, _ int, start time.Time) (sample, error) {
	return e.call(ctx, start, e.relay, checkOK)
}

// call POSTs the next request's JSON body to url and checks the 200's
// body with check.
func (e *endpointBench) call(ctx context.Context, start time.Time, url string, check func(id int64, body []byte) error) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	id := e.seq.Add(1)
	body := `{"id":` + strconv.FormatInt(id, 10) + `,"limit":` + strconv.Itoa(len(e.keys)) +
		`,"filter":{"warehouse":"AMS-1","in_stock":true}}`
	status, resp, err := send(ctx, e.client, url, []byte(body), http.Header{"Content-Type": {"application/json"}})
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%d: %.300s", status, resp)
	}
	if err == nil {
		err = check(id, resp)
	}
	if err != nil {
		return sample{}, fmt.Errorf("POST %s: %w", url, err)
	}
	return sample{done: time.Since(start)}, nil
}

func (r endpointRound) summary() string {
	return fmt.Sprintf("endpoints: trivial %s/s p99 %s (%s of bare %s/s), realistic %s/s p99 %s; bare relaying over NATS %s/s (%s)",
		rate(r.Trivial.Rate), ms(r.Trivial.P99), percent(r.Trivial.Rate, r.Bare.Rate), rate(r.Bare.Rate),
		rate(r.Realistic.Rate), ms(r.Realistic.P99), rate(r.Relay.Rate), percent(r.Relay.Rate, r.Bare.Rate))
}
