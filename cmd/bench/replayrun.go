package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/events"
)

// replay replays the range with events.Replay and returns the time until
// it returned (every message read and published again, acknowledged by
// JetStream) and until the worker had acknowledged every replayed
// message, then checks that the replay applied once.
func (rb *replayBench) replay(ctx context.Context, rng replayRange) (published, processed time.Duration, err error) {
	dead, err := rb.hooks.stream.deadLetters(ctx)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	spec := events.ReplaySpec{Stream: events.StreamWebhooks, Subject: rb.subject(), Since: rng.since, ToSeq: rng.last}
	start := time.Now()
	p, err := events.Replay(ctx, rb.js, spec, nil)
	published = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("replay: %w", err)
	}
	n := uint64(len(rng.ids))
	if p.Matched != n || p.Published != n || p.Skipped != 0 || p.FirstSeq != rng.first || p.LastSeq != rng.last {
		return 0, 0, fmt.Errorf("replay: matched %d, published %d, skipped %d, sequences %d–%d; want %d of %d–%d, none skipped",
			p.Matched, p.Published, p.Skipped, p.FirstSeq, p.LastSeq, n, rng.first, rng.last)
	}
	// The replayed messages follow the range: nothing else is published.
	end := rng.last + n
	if err := rb.hooks.stream.waitAcked(ctx, end); err != nil {
		return 0, 0, fmt.Errorf("replay: %w", err)
	}
	processed = time.Since(start)
	return published, processed, rb.check(ctx, rng, end, dead)
}

// check confirms that the replay applied once: WEBHOOKS holds the
// replayed messages right after the range and nothing more, none was
// dead-lettered, and each webhook is still recorded once, as processed.
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
	return fmt.Sprintf("replay %d: processed %s msgs/s (%s of raw), published %s msgs/s (%s); raw ordered consumer %s msgs/s",
		r.Msgs, rate(r.rate(r.Processed)), percent(r.rate(r.Processed), raw), rate(r.rate(r.Published)),
		percent(r.rate(r.Published), raw), rate(raw))
}
