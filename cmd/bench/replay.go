package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/webhook"
)

// replayBench replays webhooks with events.Replay and the check of what
// was applied (node.ReplayApplied), as `tenantry replay` and POST
// /api/admin/replay do, next to a raw ordered consumer reading the same
// messages. Its webhooks go to a subaccount of their own, so that a
// subject filter and stream sequences select exactly the ones a round
// sends.
type replayBench struct {
	hooks    *ingressPath
	js       jetstream.JetStream
	replayer *events.Replayer
	conc     int // clients sending the webhooks
	msgs     int
}

// replayRound is one round's replays and their baseline: each the time
// to go through every one of Msgs webhooks.
type replayRound struct {
	Msgs    int
	Raw     time.Duration // a raw ordered consumer reads them
	Applied time.Duration // every webhook processed before: events.Replay returns, each checked, none published
	Rerun   time.Duration // every webhook failed before: from the replay's start until the worker has acknowledged every replayed message
}

// rate is messages per second in d.
func (r replayRound) rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(r.Msgs) / d.Seconds()
}

// replayRange is the webhooks a round replays: WEBHOOKS sequences first
// to last, stored after since.
type replayRange struct {
	since       time.Time
	first, last uint64
	ids         []string
}

func (b *bench) prepareReplay(ctx context.Context) error {
	hooks, err := b.webhookPath(ctx, "replayed webhooks", b.hooks.stream)
	if err != nil {
		return err
	}
	b.replay = &replayBench{hooks: hooks, js: b.js, replayer: events.NewReplayer(b.js, node.ReplayApplied(b.node.Store)),
		conc: b.cfg.IngressConc, msgs: b.cfg.ReplayMsgs}
	return nil
}

// replayReads is how many times a round reads the range raw and
// replays it applied, in turn: each figure is the median, as one read
// takes a small fraction of a second.
const replayReads = 3

// measureReplay sends the round's webhooks (not timed), reads them with
// a raw ordered consumer and replays them, replayReads times each in
// turn, then marks them failed (not timed) and replays them again.
func (b *bench) measureReplay(ctx context.Context) (r replayRound, err error) {
	rb := b.replay
	r.Msgs = rb.msgs
	rng, err := rb.send(ctx)
	if err != nil {
		return r, err
	}
	raw, applied := make([]float64, replayReads), make([]float64, replayReads)
	for i := range replayReads {
		d, err := rb.readRaw(ctx, rng)
		if err != nil {
			return r, err
		}
		raw[i] = float64(d)
		if d, err = rb.replayApplied(ctx, rng); err != nil {
			return r, err
		}
		applied[i] = float64(d)
	}
	r.Raw, r.Applied = time.Duration(median(raw)), time.Duration(median(applied))
	r.Rerun, err = rb.replayFailed(ctx, rng)
	return r, err
}

// send sends msgs webhooks through ingress and waits until the worker
// has processed them, checking that WEBHOOKS took nothing else meanwhile.
func (rb *replayBench) send(ctx context.Context) (replayRange, error) {
	rng := replayRange{since: time.Now()}
	before, err := rb.hooks.stream.lastSeq(ctx)
	if err != nil {
		return rng, err
	}
	if _, err := checked(ctx, "replay: send the webhooks", closedLoop(ctx, rb.conc, budget{n: rb.msgs}, rb.hooks.post)); err != nil {
		return rng, err
	}
	s, err := rb.hooks.settle(ctx)
	if err != nil {
		return rng, err
	}
	rng.first, rng.last, rng.ids = before+1, s.last, s.ids
	if n := rng.last - before; n != uint64(rb.msgs) {
		return rng, fmt.Errorf("replay: %s took %d messages for %d webhooks", events.StreamWebhooks, n, rb.msgs)
	}
	return rng, nil
}

// subject is the replayed webhooks' subject.
func (rb *replayBench) subject() string { return webhook.Subject(rb.hooks.account, "") }

// readRaw reads the range with a raw ordered consumer (nats.go's
// defaults) and returns the time from creating it to the last message,
// checking that each message is the next of the range with a whole body.
func (rb *replayBench) readRaw(ctx context.Context, rng replayRange) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	start := time.Now()
	cons, err := rb.js.OrderedConsumer(ctx, events.StreamWebhooks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{rb.subject()}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: rng.first})
	if err != nil {
		return 0, fmt.Errorf("raw ordered consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return 0, fmt.Errorf("raw ordered consumer: %w", err)
	}
	defer it.Stop()
	for seq := rng.first; seq <= rng.last; seq++ {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return 0, fmt.Errorf("raw ordered consumer, sequence %d: %w", seq, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return 0, fmt.Errorf("raw ordered consumer, sequence %d: %w", seq, err)
		}
		if md.Sequence.Stream != seq || len(msg.Data()) != len(rb.hooks.body) {
			return 0, fmt.Errorf("raw ordered consumer: sequence %d (%d bytes) where %d (%d bytes) was due",
				md.Sequence.Stream, len(msg.Data()), seq, len(rb.hooks.body))
		}
	}
	return time.Since(start), nil
}
