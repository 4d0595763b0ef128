// Package worker runs accepted commands: it consumes the COMMANDS stream
// and hands each command to the store operation for its kind, which
// applies the effect and finishes the job in one transaction. The
// consumer acks only after that commit, and a redelivered command whose
// job already finished is a no-op, so nothing is applied twice.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connections"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/syncer"
)

// Config configures the worker; zero values take the defaults.
type Config struct {
	// Consumer defaults: 8 concurrent jobs, 30s ack wait, 8 deliveries.
	Consumer events.ConsumerConfig
	// OutageWait is how long one delivery waits out an unreachable
	// Postgres before giving the delivery up; default 10m.
	OutageWait time.Duration
	Sync       syncer.Config
}

// apply runs one job kind; it returns the messages its transaction wrote
// to the outbox.
type apply func(ctx context.Context, cmd tenantry.Command) ([]tenantry.Message, error)

// Worker consumes commands. Start once, Stop to drain.
type Worker struct {
	cfg      Config
	store    *store.Store
	pub      tenantry.Publisher
	consumer *events.Consumer
	appliers map[string]apply
	metrics  *metrics
	log      *zap.Logger

	stop     chan struct{}
	done     sync.WaitGroup
	stopOnce sync.Once
}

// New returns a worker consuming cmd.> from COMMANDS with the durable
// consumer "worker", shared by every replica.
func New(cfg Config, st *store.Store, conns *connections.Service, js jetstream.JetStream, pub tenantry.Publisher,
	reg prometheus.Registerer, log *zap.Logger) (*Worker, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.OutageWait, defaultOutageWait)
	w := &Worker{cfg: cfg, store: st, pub: pub, metrics: m, log: log, stop: make(chan struct{})}
	// A store-only job is retried whole through an outage: its effect and
	// the job commit together or not at all.
	byJob := func(f func(context.Context, string) ([]tenantry.Message, error)) apply {
		return func(ctx context.Context, cmd tenantry.Command) (msgs []tenantry.Message, err error) {
			err = w.await(ctx, func() (err error) { msgs, err = f(ctx, cmd.JobID); return err })
			return msgs, err
		}
	}
	w.appliers = map[string]apply{
		tenantry.KindProvision:         byJob(st.ProvisionSubaccount),
		tenantry.KindDeprovision:       byJob(st.DeprovisionSubaccount),
		tenantry.KindConnectionCheck:   w.connectionJob(conns.Check),
		tenantry.KindOAuthExchange:     w.connectionJob(conns.Exchange),
		tenantry.KindConnectionRefresh: w.refresh(conns),
		tenantry.KindSync:              w.sync(syncer.New(cfg.Sync, st, conns, log.Named("sync"))),
	}
	cc := cfg.Consumer
	cc.Stream, cc.Durable, cc.Filter = events.StreamCommands, "worker", []string{"cmd.>"}
	w.consumer = events.NewConsumer(js, cc, w.handle, log)
	return w, nil
}

// Start starts consuming and reporting consumer lag.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.consumer.Start(ctx); err != nil {
		return err
	}
	w.done.Add(1)
	go w.reportLag()
	return nil
}

// Stop drains in-flight commands and returns when they are done. Safe to
// call twice.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() {
		close(w.stop)
		w.consumer.Stop()
		w.done.Wait()
	})
}

// handle runs one command. Its error decides the message's fate (see
// events.Handler).
func (w *Worker) handle(ctx context.Context, m *events.Msg) error {
	var cmd tenantry.Command
	if err := json.Unmarshal(m.Data, &cmd); err != nil {
		return events.Permanent(fmt.Errorf("decode command: %w", err))
	}
	run, ok := w.appliers[cmd.Kind]
	if !ok {
		return events.Permanent(fmt.Errorf("unknown command kind %q", cmd.Kind))
	}
	var job *tenantry.Job
	err := w.await(ctx, func() (err error) { job, err = w.store.StartJob(ctx, cmd.JobID); return err })
	if tenantry.ErrorCode(err) == tenantry.ENOTFOUND {
		return events.Permanent(err)
	}
	if err != nil {
		return err
	}
	if job.Status == tenantry.JobSucceeded || job.Status == tenantry.JobFailed {
		return nil // a redelivery of finished work
	}
	start := time.Now()
	var msgs []tenantry.Message
	msgs, err = run(ctx, cmd)
	if err != nil {
		return w.fail(ctx, m, cmd, err)
	}
	w.metrics.finished(cmd.Kind, tenantry.JobSucceeded, time.Since(start))
	w.publish(ctx, msgs)
	return nil
}

// fail records a failed attempt. A permanent failure, or the last
// attempt, fails the job for good and dead-letters the command; anything
// else is retried.
func (w *Worker) fail(ctx context.Context, m *events.Msg, cmd tenantry.Command, err error) error {
	log := w.log.With(zap.String("job_id", cmd.JobID), zap.String("kind", cmd.Kind), zap.Int("delivered", m.Delivered))
	code := tenantry.ErrorCode(err)
	// Retrying cannot help these: the state conflicts, the input is bad,
	// or what the job works on is gone (a deleted connection).
	permanent := events.IsPermanent(err) || code == tenantry.ECONFLICT || code == tenantry.EINVALID || code == tenantry.ENOTFOUND
	reason := tenantry.ErrorMessage(err)
	if code == tenantry.EINTERNAL {
		reason = "internal error; see the worker log for job " + cmd.JobID
	}
	if !permanent && !m.Last {
		log.Warn("job attempt failed; will retry", zap.Error(err))
		if recErr := w.store.RecordJobError(ctx, cmd.JobID, reason); recErr != nil {
			log.Warn("record job error", zap.Error(recErr))
		}
		return err
	}
	log.Error("job failed", zap.Error(err))
	var msgs []tenantry.Message
	failErr := w.await(ctx, func() (err error) { msgs, err = w.store.FailJob(ctx, cmd.JobID, reason); return err })
	if failErr != nil {
		return fmt.Errorf("record job failure: %w (after %v)", failErr, err)
	}
	w.metrics.finished(cmd.Kind, tenantry.JobFailed, 0)
	w.publish(ctx, msgs)
	if permanent {
		return events.Permanent(err)
	}
	return err // the last delivery: the consumer dead-letters it as max_deliver
}

// await runs fn again while it fails only because Postgres is
// unreachable, up to OutageWait: a database outage is waited out inside
// the delivery (the consumer's heartbeats keep the message) instead of
// spending the message's deliveries and failing work that never ran.
func (w *Worker) await(ctx context.Context, fn func() error) error {
	return awaitPostgres(ctx, w.log, w.cfg.OutageWait, fn)
}

// publish sends what a committed job wrote to the outbox; anything not
// published now is re-published by the scheduler.
func (w *Worker) publish(ctx context.Context, msgs []tenantry.Message) {
	if _, err := w.store.Send(ctx, w.pub, msgs...); err != nil {
		w.log.Warn("publish after commit failed; the scheduler will re-publish", zap.Error(err))
	}
}

func (w *Worker) reportLag() {
	defer w.done.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			lag, err := w.consumer.Lag(ctx)
			cancel()
			if err == nil {
				w.metrics.lag.Set(float64(lag))
			}
		}
	}
}
