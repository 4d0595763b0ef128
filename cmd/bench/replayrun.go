package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// replayApplied replays the range, every webhook of which the worker has
// processed, and returns the time until events.Replay returned: the
// check finds each applied, so nothing is published and WEBHOOKS gains
// no message.
func (rb *replayBench) replayApplied(ctx context.Context, rng replayRange) (time.Duration, error) {
	start := time.Now()
	p, err := rb.run(ctx, rng)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if n := uint64(len(rng.ids)); p.Applied != n || p.Published != 0 {
		return 0, fmt.Errorf("replay of processed webhooks: %d applied, %d published; want %d applied, none published", p.Applied, p.Published, n)
	}
	last, err := rb.hooks.stream.lastSeq(ctx)
	if err != nil {
		return 0, err
	}
	if last != rng.last {
		return 0, fmt.Errorf("replay of processed webhooks: %s ends at sequence %d, not %d", events.StreamWebhooks, last, rng.last)
	}
	return took, nil
}

// replayFailed marks every webhook of the range failed (not timed) and
// replays the range again, under a new replay id, and returns the time
// until the worker had acknowledged every replayed message: each is
// published again, and the worker reopens its webhook and records it
// processed. It then checks that the replay applied once.
func (rb *replayBench) replayFailed(ctx context.Context, rng replayRange) (time.Duration, error) {
	dead, err := rb.hooks.stream.deadLetters(ctx)
	if err != nil {
		return 0, err
	}
	if err := rb.fail(ctx, rng.ids); err != nil {
		return 0, err
	}
	start := time.Now()
	p, err := rb.run(ctx, rng)
	if err != nil {
		return 0, err
	}
	n := uint64(len(rng.ids))
	if p.Published != n || p.Applied != 0 {
		return 0, fmt.Errorf("replay of failed webhooks: %d published, %d applied; want %d published, none applied", p.Published, p.Applied, n)
	}
	// The replayed messages follow the range: nothing else is published.
	end := rng.last + n
	if err := rb.hooks.stream.waitAcked(ctx, end); err != nil {
		return 0, fmt.Errorf("replay of failed webhooks: %w", err)
	}
	return time.Since(start), rb.check(ctx, rng, end, dead)
}

// run replays the range with a new replay id and checks that it matched
// exactly the range, skipping nothing.
func (rb *replayBench) run(ctx context.Context, rng replayRange) (events.ReplayProgress, error) {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	spec := events.ReplaySpec{Stream: events.StreamWebhooks, Subject: rb.subject(), Since: rng.since, ToSeq: rng.last}
	p, err := rb.replayer.Replay(ctx, spec, nil)
	if err != nil {
		return p, fmt.Errorf("replay: %w", err)
	}
	if n := uint64(len(rng.ids)); p.Matched != n || p.Skipped != 0 || p.FirstSeq != rng.first || p.LastSeq != rng.last {
		return p, fmt.Errorf("replay: matched %d, skipped %d, sequences %d–%d; want %d of %d–%d, none skipped",
			p.Matched, p.Skipped, p.FirstSeq, p.LastSeq, n, rng.first, rng.last)
	}
	return p, nil
}

// fail marks the webhooks ids failed, as a handler failing for good
// would have left them.
func (rb *replayBench) fail(ctx context.Context, ids []string) error {
	tag, err := rb.hooks.pool.Exec(ctx, `UPDATE core.webhook_events SET status = $3 WHERE account_id = $1 AND connection_id = ''
		AND webhook_id = ANY($2)`, rb.hooks.account, ids, tenantry.WebhookFailed)
	if err != nil {
		return fmt.Errorf("replay: mark the webhooks failed: %w", err)
	}
	if tag.RowsAffected() != int64(len(ids)) {
		return fmt.Errorf("replay: marked %d of %d webhooks failed", tag.RowsAffected(), len(ids))
	}
	return nil
}

// check confirms that the replay of failed webhooks applied once:
// WEBHOOKS holds the replayed messages right after the range and
// nothing more, none was dead-lettered, and each webhook is recorded
// once, as processed again.
func (rb *replayBench) check(ctx context.Context, rng replayRange, end, dead uint64) error {
	last, err := rb.hooks.stream.lastSeq(ctx)
	if err != nil {
		return err
	}
	if last != end {
		return fmt.Errorf("replay: %s ends at sequence %d, not %d", events.StreamWebhooks, last, end)
	}
	d, err := rb.hooks.stream.deadLetters(ctx)
	if err != nil {
		return err
	}
	if d != dead {
		return fmt.Errorf("replay: %d messages were dead-lettered", d-dead)
	}
	return rb.hooks.processed(ctx, rng.ids)
}

func (r replayRound) summary() string {
	raw := r.rate(r.Raw)
	return fmt.Sprintf("replay %d: every webhook processed before %s msgs/s (%s of raw), every webhook failed before "+
		"re-run through the worker %s msgs/s (%s); raw ordered consumer %s msgs/s",
		r.Msgs, rate(r.rate(r.Applied)), percent(r.rate(r.Applied), raw), rate(r.rate(r.Rerun)),
		percent(r.rate(r.Rerun), raw), rate(raw))
}
