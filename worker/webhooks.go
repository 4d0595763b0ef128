package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// WebhookConfig configures webhook processing; zero values take the
// defaults.
type WebhookConfig struct {
	// Consumer defaults: 8 batches of up to 100 webhooks in flight, each
	// waiting up to 5ms to fill once it may run (and at most 8 webhooks
	// handled one by one at once), 30s ack wait, 8 deliveries. The wait
	// is what keeps batches large under a steady load: without it, a
	// worker with a free slot records each webhook on its own, one
	// transaction (and WAL flush) each.
	Consumer events.ConsumerConfig
	// OutageWait is how long one delivery waits out an unreachable
	// Postgres; default 10m.
	OutageWait time.Duration
	// ClaimLease is how long a claim on an event lasts unless renewed
	// (webhooks_claim.go): the delivery running the handler renews it
	// every third of it, so it lapses only when that worker is gone;
	// default 60s.
	ClaimLease time.Duration
}

// Webhooks processes the WEBHOOKS stream through the durable consumer
// "webhooks", shared by every worker replica: it records each webhook
// once (by delivery id), writes the connection's log, and runs the
// account's webhook handler when there is one. It takes webhooks in
// batches: those that only need recording are recorded together, the
// others handled one by one (see handleBatch). Start once, Stop to
// drain.
type Webhooks struct {
	cfg      WebhookConfig
	store    *store.Store
	handler  tenantry.WebhookHandler
	pub      tenantry.Publisher
	consumer *events.Consumer
	slots    chan struct{} // webhooks handled one by one at once, across batches
	log      *zap.Logger
	stopOnce sync.Once
}

// NewWebhooks returns the webhook processor. handler runs accounts'
// webhook handlers; nil records webhooks as processed without running
// anything.
func NewWebhooks(cfg WebhookConfig, st *store.Store, handler tenantry.WebhookHandler, js jetstream.JetStream,
	pub tenantry.Publisher, log *zap.Logger) *Webhooks {
	setDefault(&cfg.OutageWait, defaultOutageWait)
	setDefault(&cfg.ClaimLease, time.Minute)
	p := &Webhooks{cfg: cfg, store: st, handler: handler, pub: pub, log: log}
	cc := cfg.Consumer
	cc.Stream, cc.Durable, cc.Filter = events.StreamWebhooks, "webhooks", []string{"hook.>"}
	setDefault(&cc.BatchWait, 5*time.Millisecond)
	p.consumer = events.NewBatchConsumer(js, cc, p.handleBatch, log)
	p.slots = make(chan struct{}, p.consumer.Config().Concurrency)
	return p
}

// Start starts consuming.
func (p *Webhooks) Start(ctx context.Context) error { return p.consumer.Start(ctx) }

// Stop drains webhooks in flight and returns when they are done. Safe to
// call twice.
func (p *Webhooks) Stop() { p.stopOnce.Do(p.consumer.Stop) }

// handle processes one delivery of a webhook. The event's StreamSeq
// names the message that owns the handler's runs: the one recorded first,
// whose redeliveries run the handler until it finishes. The same webhook
// sent again by its producer (after JetStream's duplicate window, as
// another message) finds the record and does nothing more, even while
// the first is still being retried. A replay or redrive runs the handler
// for a failed event, which it reopens and so owns, and for one still
// received that no delivery is running (its owner dead-lettered, or
// waiting to retry), which it takes over; it is acknowledged for a
// processed event or one being run. The claim (claim) keeps the handler
// from running twice at once whatever the messages.
func (p *Webhooks) handle(ctx context.Context, m *events.Msg) error {
	ev, err := webhook.Decode(m.Header, m.Data)
	if err != nil {
		return events.Permanent(err)
	}
	rec, err := p.record(ctx, m, ev)
	if err != nil {
		return err
	}
	owned := rec.StreamSeq == m.Sequence
	switch {
	case rec.Status == tenantry.WebhookProcessed:
		return nil
	case rec.Status == tenantry.WebhookFailed && events.Replayed(m) && !owned:
		if owned, err = p.reopen(ctx, m, rec); err != nil || !owned {
			return err
		}
	case rec.Status == tenantry.WebhookFailed:
		return nil // this message failed it for good (its Term was lost), or is no replay
	case !owned && events.Replayed(m):
		if err := p.takeOver(ctx, m, rec); err != nil {
			return ignoreHandled(err)
		}
	case !owned:
		p.log.Debug("webhook is being handled by another message", zap.String("webhook_event_id", rec.ID),
			zap.Uint64("seq", m.Sequence), zap.Uint64("owner_seq", rec.StreamSeq))
		return nil
	}
	release, err := p.claim(ctx, rec)
	if err != nil {
		return ignoreHandled(err)
	}
	defer release()
	rec.Body, rec.RequestID = ev.Body, ev.RequestID
	return p.run(ctx, m, rec)
}

// reopen sets failed event rec back to received for m, a replay or
// redrive, and reports whether m owns it now: false when another replay
// reopened it first.
func (p *Webhooks) reopen(ctx context.Context, m *events.Msg, rec *tenantry.WebhookEvent) (bool, error) {
	var ok bool
	err := p.await(ctx, func() (err error) { ok, err = p.store.ReopenWebhook(ctx, rec.ID, m.Sequence); return err })
	return ok, err
}

// record records ev, delivered as m, and returns the record: a new one,
// or the one an earlier message of the same webhook made.
func (p *Webhooks) record(ctx context.Context, m *events.Msg, ev *tenantry.WebhookEvent) (*tenantry.WebhookEvent, error) {
	status, err := p.initialStatus(ctx, m, ev.AccountID)
	if err != nil {
		return nil, err
	}
	var rec *tenantry.WebhookEvent
	err = p.await(ctx, func() (err error) { rec, _, err = p.store.RecordWebhook(ctx, ev, m.Sequence, status); return err })
	if tenantry.ErrorCode(err) == tenantry.EINVALID {
		return nil, events.Permanent(err)
	}
	return rec, err
}

// handlerFinder is a WebhookHandler that can tell whether an account has
// a handler at all (WebhookScripts): a webhook for an account without one
// is then recorded processed in one transaction, as with no handler.
type handlerFinder interface {
	// HandlerAccounts returns which of accountIDs have a handler, in
	// one query.
	HandlerAccounts(ctx context.Context, accountIDs []string) (map[string]bool, error)
}

// initialStatus is the status a new record of m starts in: processed
// when there is no handler to run.
func (p *Webhooks) initialStatus(ctx context.Context, m *events.Msg, accountID string) (string, error) {
	if p.handler == nil {
		return tenantry.WebhookProcessed, nil
	}
	f, ok := p.handler.(handlerFinder)
	if !ok || events.Replayed(m) {
		return tenantry.WebhookReceived, nil
	}
	var has map[string]bool
	err := p.await(ctx, func() (err error) { has, err = f.HandlerAccounts(ctx, []string{accountID}); return err })
	if err != nil || has[accountID] {
		return tenantry.WebhookReceived, err
	}
	return tenantry.WebhookProcessed, nil
}

// run runs the account's handler on a recorded webhook and records the
// outcome, with the script run if one ran, in one transaction. A failure
// is retried with backoff until the last delivery or a permanent error,
// which fails the webhook for good, emits webhook.failed and
// dead-letters the message.
func (p *Webhooks) run(ctx context.Context, m *events.Msg, ev *tenantry.WebhookEvent) error {
	run, err := p.runHandler(ctx, ev)
	if err == nil {
		return p.await(ctx, func() error { _, err := p.store.FinishWebhook(ctx, ev, run, tenantry.WebhookProcessed, ""); return err })
	}
	// err says no more of a script failure than its run and kind: the
	// script's message may quote the webhook.
	log := p.log.With(zap.String("webhook_event_id", ev.ID), zap.Int("delivered", m.Delivered), zap.Error(err))
	reason := failureReason(err, ev.ID)
	if !events.IsPermanent(err) && !m.Last {
		log.Warn("webhook handler failed; will retry")
		if recErr := p.store.RecordWebhookError(ctx, ev.ID, reason); recErr != nil {
			log.Warn("record webhook error", zap.NamedError("record", recErr))
		}
		return err
	}
	if run != nil {
		log.Info("webhook handler script failed") // the account's doing; its run tells why
	} else {
		log.Error("webhook handler failed for good")
	}
	var msgs []tenantry.Message
	failErr := p.await(ctx, func() (err error) {
		msgs, err = p.store.FinishWebhook(ctx, ev, run, tenantry.WebhookFailed, reason)
		return err
	})
	if failErr != nil {
		return fmt.Errorf("record webhook failure: %w (after %v)", failErr, err)
	}
	if _, sendErr := p.store.Send(ctx, p.pub, msgs...); sendErr != nil {
		log.Warn("publish after commit failed; the scheduler will re-publish", zap.NamedError("publish", sendErr))
	}
	return err
}

// webhookRunner is a WebhookHandler whose runs are recorded
// (WebhookScripts): run records the run it returns together with the
// event's outcome.
type webhookRunner interface {
	// runWebhook returns the run, if the script ran, with nil or a
	// permanent error.
	runWebhook(ctx context.Context, ev *tenantry.WebhookEvent) (*store.WebhookRun, error)
}

// runHandler runs the account's handler on ev and returns the script run
// to record, if it made one.
func (p *Webhooks) runHandler(ctx context.Context, ev *tenantry.WebhookEvent) (*store.WebhookRun, error) {
	switch h := p.handler.(type) {
	case nil:
		return nil, nil
	case webhookRunner:
		return h.runWebhook(ctx, ev)
	default:
		return nil, h.HandleWebhook(ctx, ev)
	}
}

// failureReason is what the event's error shows of err: a script's
// failure, or an application error's message; anything else is internal
// and stays in the worker's log.
func failureReason(err error, eventID string) string {
	var sf *scriptFailure
	switch {
	case errors.As(err, &sf):
		return sf.reason()
	case tenantry.ErrorCode(err) == tenantry.EINTERNAL:
		return "internal error; see the worker log for webhook event " + eventID
	}
	return tenantry.ErrorMessage(err)
}

// await runs fn again while Postgres is unreachable, up to OutageWait
// (see Worker.await).
func (p *Webhooks) await(ctx context.Context, fn func() error) error {
	return awaitPostgres(ctx, p.log, p.cfg.OutageWait, fn)
}
