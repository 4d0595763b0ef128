package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/store"
)

// EndpointConfig configures how a worker answers calls to published
// endpoints. Zero values take the defaults.
type EndpointConfig struct {
	// MaxPending bounds the calls a worker holds at once, running or
	// waiting for a runner; a call past it is answered "unavailable" at
	// once (the API's 503) rather than queued behind work it cannot
	// finish in time. Default 256.
	MaxPending int
	// FlushEvery is how often finished runs are written to Postgres, in
	// one statement per batch. Default 100ms.
	FlushEvery time.Duration
	// Programs is how many endpoint scripts are kept compiled. Default 256.
	Programs int
}

func (c *EndpointConfig) defaults() {
	if c.MaxPending <= 0 {
		c.MaxPending = 256
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = 100 * time.Millisecond
	}
	if c.Programs <= 0 {
		c.Programs = 256
	}
}

// Endpoints answers calls to published endpoints: it takes them from
// NATS (request/reply on rpc.endpoint.<account>, in the queue group every
// worker shares, so each call reaches one worker), runs the interface's
// handler(request) in the script pool for the endpoint's account, and
// replies with the HTTP response the handler made, or why there is none.
// Every run that happened is recorded as a script run with trigger
// "endpoint", in the background. Start once; Stop when done.
type Endpoints struct {
	cfg      EndpointConfig
	store    *store.Store
	scripts  Scripts
	nc       *nats.Conn
	log      *zap.Logger
	programs *programCache
	rec      *runRecorder
	pending  chan struct{}
	sub      *nats.Subscription

	mu       sync.Mutex
	started  bool
	stopped  bool
	calls    sync.WaitGroup
	stopOnce sync.Once
}

// NewEndpoints returns the endpoint server of a worker; s.Pool is
// started and stopped by the caller, around Start and Stop.
func NewEndpoints(cfg EndpointConfig, st *store.Store, s Scripts, nc *nats.Conn, log *zap.Logger) *Endpoints {
	cfg.defaults()
	return &Endpoints{cfg: cfg, store: st, scripts: s, nc: nc, log: log,
		programs: &programCache{max: cfg.Programs, m: map[string]cachedProgram{}},
		rec:      newRunRecorder(st, cfg.FlushEvery, log), pending: make(chan struct{}, cfg.MaxPending)}
}

// Start subscribes; once it returns, the NATS server knows this worker
// answers endpoint calls.
func (e *Endpoints) Start(ctx context.Context) error {
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
	go e.rec.run()
	sub, err := e.nc.QueueSubscribe(tenantry.EndpointSubject("*"), tenantry.EndpointQueue, e.receive)
	if err != nil {
		return fmt.Errorf("subscribe to endpoint calls: %w", err)
	}
	e.sub = sub
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("subscribe to endpoint calls: %w", err)
	}
	return nil
}

// Stop unsubscribes, waits for the calls in progress (each ends by its
// own timeout at the latest) and writes the last runs. Safe to call
// twice.
func (e *Endpoints) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.stopped = true
		started := e.started
		e.mu.Unlock()
		if e.sub != nil {
			_ = e.sub.Unsubscribe()
		}
		e.calls.Wait()
		if started {
			e.rec.stop()
		}
	})
}

// receive takes one call off the subscription, which delivers them one
// at a time: the call runs on its own goroutine.
func (e *Endpoints) receive(msg *nats.Msg) {
	call := &tenantry.EndpointCall{}
	if err := call.Decode(msg.Data); err != nil {
		e.log.Error("undecodable endpoint call", zap.Error(err))
		e.respond(msg, call.Legacy, &tenantry.EndpointReply{Outcome: tenantry.EndpointUnavailable})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	busy := e.stopped
	if !busy {
		select {
		case e.pending <- struct{}{}:
		default:
			busy = true
		}
	}
	if busy {
		e.respond(msg, call.Legacy, &tenantry.EndpointReply{Outcome: tenantry.EndpointUnavailable})
		return
	}
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		defer func() { <-e.pending }()
		e.respond(msg, call.Legacy, e.handle(call))
	}()
}

// respond sends reply, in the form of the call it answers; one too large
// for NATS after all (serve estimated) is sent as a failure.
func (e *Endpoints) respond(msg *nats.Msg, legacy bool, reply *tenantry.EndpointReply) {
	encode := (*tenantry.EndpointReply).Encode
	if legacy {
		encode = (*tenantry.EndpointReply).EncodeLegacy
	}
	data, err := encode(reply)
	if err == nil && int64(len(data)) > e.nc.MaxPayload() {
		data, err = encode(&tenantry.EndpointReply{RunID: reply.RunID, Outcome: tenantry.EndpointFailed})
	}
	if err == nil {
		err = msg.Respond(data)
	}
	if err != nil {
		e.log.Warn("reply to endpoint call", zap.String("run_id", reply.RunID), zap.Error(err))
	}
}

// handle serves one call within its timeout.
func (e *Endpoints) handle(call *tenantry.EndpointCall) *tenantry.EndpointReply {
	timeout := time.Duration(call.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = e.scripts.Pool.Config().Timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.serve(ctx, call)
}

// serve runs the endpoint's handler and records the run. A run that
// could not happen (no runner, the pool stopping) is not recorded.
func (e *Endpoints) serve(ctx context.Context, call *tenantry.EndpointCall) *tenantry.EndpointReply {
	run := &store.EndpointRun{ID: store.NewID("run"), EndpointID: call.EndpointID, InterfaceID: call.InterfaceID,
		PartnerID: call.PartnerID, AccountID: call.AccountID, StartedAt: time.Now()}
	prog, err := e.program(ctx, call)
	var ce *script.CompileError
	switch {
	case errors.As(err, &ce): // stored before a change of dialect, say
		return e.fail(run, &tenantry.RunError{Kind: script.FailError, Message: ce.Msg, Line: ce.Line, Column: ce.Column})
	case tenantry.ErrorCode(err) == tenantry.ENOTFOUND:
		return &tenantry.EndpointReply{Outcome: tenantry.EndpointNotFound}
	case err != nil:
		e.log.Error("load endpoint script", zap.String("endpoint_id", call.EndpointID), zap.Error(err))
		return &tenantry.EndpointReply{Outcome: tenantry.EndpointUnavailable}
	}
	res, err := e.scripts.Pool.Run(ctx, script.Request{Program: prog, Entry: script.EntryHandler, Input: call.Request,
		Host: e.scripts.Platform.For(call.AccountID)})
	if res != nil {
		run.Outcome = store.RunOutcome{Log: res.Log, Steps: int64(res.Steps), DurationMS: res.Duration.Milliseconds()}
	}
	if ctx.Err() != nil { // however the run ended, the caller has had its 504
		return e.timedOut(run, call)
	}
	if err != nil {
		e.log.Warn("endpoint call not run", zap.String("endpoint_id", call.EndpointID), zap.Error(err))
		return &tenantry.EndpointReply{Outcome: tenantry.EndpointUnavailable}
	}
	if f := res.Failure; f != nil {
		return e.fail(run, &tenantry.RunError{Kind: f.Kind, Message: f.Message, Line: f.Line, Column: f.Column})
	}
	resp, err := res.Response()
	if err != nil {
		return e.fail(run, &tenantry.RunError{Kind: script.FailError, Message: err.Error()})
	}
	if size := replySize(resp); size > e.nc.MaxPayload() {
		return e.fail(run, &tenantry.RunError{Kind: script.FailOutput,
			Message: fmt.Sprintf("the response (about %d KiB) is larger than an endpoint can answer (%d KiB)", size>>10, e.nc.MaxPayload()>>10)})
	}
	run.Outcome.Result = json.RawMessage(fmt.Sprintf(`{"status": %d}`, resp.Status))
	e.record(run)
	return &tenantry.EndpointReply{RunID: run.ID, Status: resp.Status, Header: resp.Header, Body: resp.Body}
}

// replySize estimates the size of the reply carrying resp.
func replySize(resp *script.Response) int64 {
	n := len(resp.Body) + 512
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 8
		}
	}
	return int64(n)
}

// timedOut records a run that outlived its call: stopped, or still
// waiting for a runner, when the API gave up.
func (e *Endpoints) timedOut(run *store.EndpointRun, call *tenantry.EndpointCall) *tenantry.EndpointReply {
	run.Outcome.DurationMS = time.Since(run.StartedAt).Milliseconds()
	e.fail(run, &tenantry.RunError{Kind: script.FailTimeout,
		Message: fmt.Sprintf("the endpoint did not answer within %s and the run was stopped", time.Duration(call.TimeoutMS)*time.Millisecond)})
	return &tenantry.EndpointReply{RunID: run.ID, Outcome: tenantry.EndpointTimeout}
}

// fail records run as failed with why.
func (e *Endpoints) fail(run *store.EndpointRun, why *tenantry.RunError) *tenantry.EndpointReply {
	run.Outcome.Result, run.Outcome.Error = nil, why
	e.log.Info("endpoint script failed", zap.String("run_id", run.ID), zap.String("endpoint_id", run.EndpointID),
		zap.String("kind", why.Kind))
	e.record(run)
	return &tenantry.EndpointReply{RunID: run.ID, Outcome: tenantry.EndpointFailed}
}

func (e *Endpoints) record(run *store.EndpointRun) {
	run.FinishedAt = time.Now()
	e.rec.add(*run)
}
