package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry/events"
)

// drainTimeout bounds a wait for the worker to process what a run sent.
const drainTimeout = 5 * time.Minute

// pollEvery is how often a wait asks for the worker's consumer's state:
// the resolution of the times measured that way.
const pollEvery = 5 * time.Millisecond

// webhookStream watches the WEBHOOKS stream and the worker's durable
// consumer on it ("webhooks"), to tell when the worker has processed
// what was published, and the DLQ, where what it could not process
// would land.
type webhookStream struct {
	js          jetstream.JetStream
	stream, dlq jetstream.Stream
	cons        jetstream.Consumer
}

func newWebhookStream(ctx context.Context, js jetstream.JetStream) (*webhookStream, error) {
	s := &webhookStream{js: js}
	var err error
	if s.stream, err = js.Stream(ctx, events.StreamWebhooks); err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.StreamWebhooks, err)
	}
	if s.dlq, err = js.Stream(ctx, events.StreamDLQ); err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.StreamDLQ, err)
	}
	if s.cons, err = js.Consumer(ctx, events.StreamWebhooks, "webhooks"); err != nil {
		return nil, fmt.Errorf("the worker's webhooks consumer: %w", err)
	}
	return s, nil
}

// lastSeq is the sequence of WEBHOOKS's last message.
func (s *webhookStream) lastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", events.StreamWebhooks, err)
	}
	return info.State.LastSeq, nil
}

// deadLetters is how many messages the DLQ holds.
func (s *webhookStream) deadLetters(ctx context.Context) (uint64, error) {
	info, err := s.dlq.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", events.StreamDLQ, err)
	}
	return info.State.Msgs, nil
}

// waitAcked returns once the worker has acknowledged every WEBHOOKS
// message up to sequence seq: its consumer's ack floor has reached it.
// The worker acknowledges a message only when its handler returned nil.
func (s *webhookStream) waitAcked(ctx context.Context, seq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		info, err := s.cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("the worker's webhooks consumer: %w", err)
		}
		if info.AckFloor.Stream >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the worker acknowledged %s up to sequence %d of %d: %w",
				events.StreamWebhooks, info.AckFloor.Stream, seq, ctx.Err())
		case <-tick.C:
		}
	}
}

// paused runs fn with the worker's consumer paused, as an operator can
// pause one: the worker takes nothing from WEBHOOKS meanwhile, as if it
// ran on other machines, and catches up once fn returns.
func (s *webhookStream) paused(ctx context.Context, fn func() error) error {
	if _, err := s.js.PauseConsumer(ctx, events.StreamWebhooks, "webhooks", time.Now().Add(drainTimeout)); err != nil {
		return fmt.Errorf("pause the worker's webhooks consumer: %w", err)
	}
	err := fn()
	if _, rerr := s.js.ResumeConsumer(context.WithoutCancel(ctx), events.StreamWebhooks, "webhooks"); rerr != nil {
		err = errors.Join(err, fmt.Errorf("resume the worker's webhooks consumer: %w", rerr))
	}
	return err
}
