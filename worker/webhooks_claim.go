package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// Claims keep a webhook's handler from running twice at once. The
// message that owns an event can be delivered twice at once (JetStream
// delivers it again when a copy waited unacknowledged past AckWait, in a
// busy worker's buffer), and a replay or redrive may take an event over
// while its owner is about to retry. The delivery about to run the
// handler claims the event, renews the claim while it works and gives
// it up when done; any other delivery of the event waits for that one,
// in place (the consumer heartbeats it, so it spends none of its
// deliveries), until the event is handled or the claim lapses (its
// worker died).

// claimPoll is how often a delivery waiting for another's claim looks
// again.
const claimPoll = time.Second

// errHandled is the event handled by the delivery whose claim this one
// waited for: nothing is left to do.
var errHandled = errors.New("the webhook was handled by another delivery")

// ignoreHandled is err, but nil for errHandled (the message is acked).
func ignoreHandled(err error) error {
	if errors.Is(err, errHandled) {
		return nil
	}
	return err
}

// claim claims event rec for this delivery, waiting for another's claim
// if need be, and keeps it until release is called.
func (p *Webhooks) claim(ctx context.Context, rec *tenantry.WebhookEvent) (release func(), err error) {
	err = p.waitClaim(ctx, rec, func() (bool, error) { return p.store.ClaimWebhook(ctx, rec.ID, p.cfg.ClaimLease) })
	if err != nil {
		return nil, err
	}
	return p.keepClaim(rec), nil
}

// takeOver makes m, a replay or redrive of an event still received, its
// owner once no delivery holds its claim. This is how an operator
// recovers a webhook whose owner died on its last delivery: redrive it.
func (p *Webhooks) takeOver(ctx context.Context, m *events.Msg, rec *tenantry.WebhookEvent) error {
	return p.waitClaim(ctx, rec, func() (bool, error) { return p.store.TakeOverWebhook(ctx, rec.ID, m.Sequence) })
}

// waitClaim runs try until it succeeds, which it does not while another
// delivery holds rec's claim: it waits for that one to handle the event
// (errHandled) or for its claim to lapse.
func (p *Webhooks) waitClaim(ctx context.Context, rec *tenantry.WebhookEvent, try func() (bool, error)) error {
	for {
		var ok, received bool
		err := p.await(ctx, func() (err error) { ok, err = try(); return err })
		if err != nil || ok {
			return err
		}
		if err := p.await(ctx, func() (err error) { received, err = p.store.WebhookReceived(ctx, rec.ID); return err }); err != nil {
			return err
		}
		if !received {
			return errHandled
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// keepClaim renews rec's claim every third of the lease until release is
// called, which gives the claim up, whatever ended the run (a result, a
// retryable failure, a panic, the worker stopping).
func (p *Webhooks) keepClaim(rec *tenantry.WebhookEvent) (release func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.cfg.ClaimLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := p.store.RenewWebhookClaim(context.Background(), rec.ID, p.cfg.ClaimLease); err != nil {
					p.log.Warn("renew webhook claim", zap.String("webhook_event_id", rec.ID), zap.Error(err))
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.store.ReleaseWebhookClaim(ctx, rec.ID); err != nil {
				p.log.Warn("give up webhook claim; it lapses", zap.String("webhook_event_id", rec.ID), zap.Error(err))
			}
		})
	}
}
