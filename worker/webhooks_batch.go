package worker

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// handleBatch processes a batch of deliveries. The common case, a
// webhook whose account has no handler to run, costs a few statements
// per batch: one query finds which of the batch's accounts have a
// handler, one transaction records the others' webhooks processed, and
// a delivery whose record is processed then is done. Everything else —
// an account with a handler, a replay or redrive, a record made earlier
// and not processed, a batch that could not be recorded (one unknown
// account fails the transaction) — is handled one by one, as handle
// does, so one bad message never fails the others.
func (p *Webhooks) handleBatch(ctx context.Context, msgs []*events.Msg) []error {
	errs := make([]error, len(msgs))
	done := make([]bool, len(msgs))
	evs := make([]*tenantry.WebhookEvent, len(msgs))
	for i, m := range msgs {
		ev, err := webhook.Decode(m.Header, m.Data)
		if err != nil {
			errs[i], done[i] = events.Permanent(err), true
			continue
		}
		evs[i] = ev
	}
	err := p.recordBatch(ctx, msgs, evs, done)
	switch {
	case err != nil && (store.IsUnavailable(err) || ctx.Err() != nil):
		// Postgres stayed away for OutageWait, or the worker is stopping:
		// each delivery would have failed so on its own.
		for i := range msgs {
			if !done[i] {
				errs[i] = err
			}
		}
		return errs
	case err != nil:
		p.log.Warn("recording a batch of webhooks failed; handling them one by one", zap.Int("webhooks", len(msgs)), zap.Error(err))
	}
	p.handleEach(ctx, msgs, done, errs)
	return errs
}

// recordBatch records, in one transaction, the webhooks of msgs that
// need nothing more than a record, and marks done those whose record is
// processed.
func (p *Webhooks) recordBatch(ctx context.Context, msgs []*events.Msg, evs []*tenantry.WebhookEvent, done []bool) error {
	idx, err := p.withoutHandler(ctx, msgs, evs)
	if err != nil || len(idx) == 0 {
		return err
	}
	recs := make([]store.WebhookRecord, len(idx))
	for k, i := range idx {
		recs[k] = store.WebhookRecord{Event: evs[i], Seq: msgs[i].Sequence}
	}
	var statuses []string
	err = p.await(ctx, func() (err error) { statuses, err = p.store.RecordWebhooks(ctx, recs); return err })
	if err != nil {
		return err
	}
	for k, i := range idx {
		done[i] = statuses[k] == tenantry.WebhookProcessed
	}
	return nil
}

// withoutHandler returns the indexes of the decoded first deliveries (no
// replay or redrive) in msgs whose account has no handler to run: the
// webhooks initialStatus would record processed.
func (p *Webhooks) withoutHandler(ctx context.Context, msgs []*events.Msg, evs []*tenantry.WebhookEvent) ([]int, error) {
	var idx []int
	var accounts []string
	for i, ev := range evs {
		if ev != nil && !events.Replayed(msgs[i]) {
			idx, accounts = append(idx, i), append(accounts, ev.AccountID)
		}
	}
	if p.handler == nil || len(idx) == 0 {
		return idx, nil
	}
	f, ok := p.handler.(handlerFinder)
	if !ok {
		return nil, nil
	}
	slices.Sort(accounts)
	var has map[string]bool
	err := p.await(ctx, func() (err error) { has, err = f.HandlerAccounts(ctx, slices.Compact(accounts)); return err })
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(idx, func(i int) bool { return has[evs[i].AccountID] }), nil
}

// handleEach runs handle on each message of msgs not done, setting its
// error: concurrently, but at most Concurrency at once across batches,
// as the consumer would run them one by one.
func (p *Webhooks) handleEach(ctx context.Context, msgs []*events.Msg, done []bool, errs []error) {
	var wg sync.WaitGroup
	for i, m := range msgs {
		if done[i] {
			continue
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-p.slots; wg.Done() }()
			errs[i] = p.handleOne(ctx, m)
		}()
	}
	wg.Wait()
}

// handleOne is handle, with a panic turned into an ordinary (retryable)
// error, as the consumer does for its own goroutines.
func (p *Webhooks) handleOne(ctx context.Context, m *events.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("webhook handler panic", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return p.handle(ctx, m)
}
