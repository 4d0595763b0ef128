package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tenantry/tenantry/webhook"
)

// ingressBench is webhook ingress to an account's built-in URL, next to
// the bare handler driven by the same client and raw JetStream publishes
// of the same message.
type ingressBench struct {
	hook, bare *ingressPath
	raw        *rawPublisher
	server     *bareServer
	stream     *webhookStream
}

// ingressRound is one round's webhook ingress and its baselines.
type ingressRound struct {
	Alone      stat          // POST to the account's webhook URL → 202, the worker's consumer paused
	AloneDrain time.Duration // after that run, until the worker, resumed, had processed all of it
	Hook       stat          // the same, the worker processing the webhooks meanwhile
	Drain      time.Duration // after the webhook run, until the worker had processed all of it
	Bare       stat          // the bare handler → 202
	JS         stat          // raw JetStream publishes of the same message
}

// prepareIngress starts the bare handler, makes the ingress's subaccount
// and sends it one webhook (not timed), whose message the raw publisher
// copies.
func (b *bench) prepareIngress(ctx context.Context) (err error) {
	b.load = loadClient(max(b.cfg.IngressConc, b.cfg.EndpointConc))
	if b.bare, err = startBareServer(b.nc); err != nil {
		return err
	}
	in := &ingressBench{server: b.bare}
	if in.stream, err = newWebhookStream(ctx, b.js); err != nil {
		return err
	}
	if in.hook, err = b.webhookPath(ctx, "webhook ingress", in.stream); err != nil {
		return err
	}
	if _, err := checked(ctx, "webhook ingress, first webhook", closedLoop(ctx, 1, budget{n: 1}, in.hook.post)); err != nil {
		return err
	}
	if in.raw, err = newRawPublisher(ctx, b.js, in.stream.stream, webhook.Subject(in.hook.account, ""), b.cfg.Timeout); err != nil {
		return err
	}
	in.bare = &ingressPath{name: "bare handler", url: b.bare.URL + "/hook", body: in.hook.body, client: b.load, timeout: b.cfg.Timeout}
	b.hooks = in
	return nil
}

// webhookPath makes a subaccount (not timed) and returns ingress to its
// built-in webhook URL (GET /api/webhooks).
func (b *bench) webhookPath(ctx context.Context, name string, stream *webhookStream) (*ingressPath, error) {
	api, err := b.newAccountClient(ctx, name)
	if err != nil {
		return nil, err
	}
	var out struct {
		AccountID string `json:"subaccount_id"`
		URL       string `json:"url"`
	}
	if err := api.do(ctx, http.MethodGet, "http://"+b.node.Addr()+"/api/webhooks", "", http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("%s: the account's webhook URL: %w", name, err)
	}
	return &ingressPath{name: name, url: out.URL, account: out.AccountID, body: ingressBody(ingressBodySize),
		client: b.load, timeout: b.cfg.Timeout, pool: b.pool, stream: stream}, nil
}

// newAccountClient makes a subaccount with the partner's token and
// returns a client of the API with the subaccount's end-customer token.
// Not timed.
func (b *bench) newAccountClient(ctx context.Context, name string) (*hotPath, error) {
	api := &hotPath{route: name, client: b.hot.client, timeout: b.cfg.Timeout, done: b.hot.done}
	if err := api.newAccount(ctx, b.hot); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return api, nil
}

// measureIngress runs webhook ingress for d twice, first with the
// worker's consumer paused (the API alone), then with the worker
// processing the webhooks meanwhile, each time waiting for the worker
// to process it all and checking it did; then it runs the bare handler
// and the raw publishes for baseD each, checking every answer and
// message.
func (b *bench) measureIngress(ctx context.Context, d, baseD time.Duration) (r ingressRound, err error) {
	in := b.hooks
	if r.Alone, r.AloneDrain, err = in.run(ctx, b.cfg.IngressConc, d, true); err != nil {
		return r, err
	}
	if r.Hook, r.Drain, err = in.run(ctx, b.cfg.IngressConc, d, false); err != nil {
		return r, err
	}
	res, err := checked(ctx, "bare handler (ingress)", closedLoop(ctx, b.cfg.IngressConc, budget{d: baseD}, in.bare.post))
	if err != nil {
		return r, err
	}
	if err := in.server.check("bare handler (ingress)", len(in.bare.take())); err != nil {
		return r, err
	}
	r.Bare = summarize(res, done)
	r.JS, err = in.measureRaw(ctx, b.cfg.IngressConc, baseD)
	return r, err
}

// run posts webhooks for d, with the worker's consumer paused if alone,
// then waits for the worker to process them all and checks it did.
func (in *ingressBench) run(ctx context.Context, conc int, d time.Duration, alone bool) (stat, time.Duration, error) {
	var res result
	post := func() (err error) {
		res, err = checked(ctx, "webhook ingress", closedLoop(ctx, conc, budget{d: d}, in.hook.post))
		return err
	}
	var err error
	if alone {
		err = in.stream.paused(ctx, post)
	} else {
		err = post()
	}
	if err != nil {
		return stat{}, 0, err
	}
	s, err := in.hook.settle(ctx)
	return summarize(res, done), s.drain, err
}

// measureRaw runs the raw publishes and checks that BENCH stored each.
func (in *ingressBench) measureRaw(ctx context.Context, conc int, d time.Duration) (stat, error) {
	before, err := in.raw.stored(ctx)
	if err != nil {
		return stat{}, err
	}
	res, err := checked(ctx, "raw JetStream publish (ingress)", closedLoop(ctx, conc, budget{d: d}, in.raw.publish))
	if err != nil {
		return stat{}, err
	}
	after, err := in.raw.stored(ctx)
	if err == nil && after-before != uint64(len(res.samples)) {
		err = fmt.Errorf("raw JetStream publish: %d acknowledged, BENCH stored %d", len(res.samples), after-before)
	}
	return summarize(res, done), err
}

// checked fails a run that was interrupted, completed nothing, or had
// any operation fail: these figures stand only on runs whose every
// operation was answered as it should be.
func checked(ctx context.Context, name string, res result) (result, error) {
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case res.errs > 0:
		return res, fmt.Errorf("%s: %d operations failed; first: %w", name, res.errs, res.firstErr)
	case len(res.samples) == 0:
		return res, fmt.Errorf("%s: no operation completed", name)
	}
	return res, nil
}

func (r ingressRound) summary() string {
	return fmt.Sprintf("ingress, worker paused %s/s p50 %s p99 %s (%s of raw js %s/s), worker done %s after; "+
		"with the worker %s/s p50 %s p99 %s (%s), worker done %s after; bare %s/s",
		rate(r.Alone.Rate), ms(r.Alone.P50), ms(r.Alone.P99), percent(r.Alone.Rate, r.JS.Rate), rate(r.JS.Rate),
		secs(r.AloneDrain), rate(r.Hook.Rate), ms(r.Hook.P50), ms(r.Hook.P99), percent(r.Hook.Rate, r.JS.Rate),
		secs(r.Drain), rate(r.Bare.Rate))
}
