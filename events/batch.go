package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// BatchHandler processes messages together (in one transaction, say).
// It returns one result per message, in order, and each decides its
// message's fate as a Handler's return does: nil → Ack; Permanent →
// Term and a copy to the DLQ; any other error → Nak with backoff, or the
// DLQ on the last delivery. Each message keeps its own delivery count
// and Last.
type BatchHandler func(ctx context.Context, msgs []*Msg) []error

// NewBatchConsumer returns a consumer that runs h on batches of up to
// cfg.MaxBatch messages, up to cfg.Concurrency batches at once; call
// Start. A batch starts as soon as a message is there and a batch may
// run, with the messages that arrived meanwhile and, with BatchWait,
// those arriving within it. Messages gathered while every slot is busy
// are heartbeated like those being handled. A panic in h is an ordinary
// error for every message of its batch.
func NewBatchConsumer(js jetstream.JetStream, cfg ConsumerConfig, h BatchHandler, log *zap.Logger) *Consumer {
	c := NewConsumer(js, cfg, nil, log)
	c.batch = h
	return c
}

// runBatches makes batches of what pull delivers and runs each, up to
// Concurrency at once.
func (c *Consumer) runBatches() {
	defer c.loop.Done()
	in := make(chan jetstream.Msg)
	c.loop.Add(1)
	go c.pull(in)
	slots := make(chan struct{}, c.cfg.Concurrency)
	for {
		batch := c.gather(in, slots)
		if batch == nil {
			return
		}
		c.inflight.Add(1)
		go func() {
			defer func() { <-slots; c.inflight.Done() }()
			c.handleBatch(batch)
		}()
	}
}

// pull hands the iterator's messages to in, and closes in once the
// iterator is closed.
func (c *Consumer) pull(in chan<- jetstream.Msg) {
	defer c.loop.Done()
	defer close(in)
	for {
		msg, err := c.iter.Next(jetstream.NextContext(c.work))
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || (err != nil && c.work.Err() != nil) {
			return
		}
		if err != nil {
			c.log.Warn("pull", zap.Error(err))
			continue
		}
		in <- msg // gather receives until in is closed
	}
}

// gathering is a batch being gathered.
type gathering struct {
	msgs  []jetstream.Msg
	bytes int // of the messages' data
}

func (g *gathering) add(msg jetstream.Msg) {
	g.msgs, g.bytes = append(g.msgs, msg), g.bytes+len(msg.Data())
}

// full reports whether the batch holds MaxBatch messages or
// MaxBatchBytes of data.
func (c *Consumer) full(g *gathering) bool {
	return len(g.msgs) >= c.cfg.MaxBatch || g.bytes >= c.cfg.MaxBatchBytes
}

// gather returns the next batch, holding a slot for it: it takes the
// messages that arrive until the batch is full or a slot is free, and
// heartbeats them while they wait. nil once in is closed and nothing is
// left.
func (c *Consumer) gather(in <-chan jetstream.Msg, slots chan<- struct{}) []jetstream.Msg {
	var g gathering
	t := time.NewTicker(c.cfg.AckWait / 3)
	defer t.Stop()
	for {
		recv, acquire := in, slots
		if c.full(&g) {
			recv = nil
		}
		if len(g.msgs) == 0 {
			acquire = nil
		}
		select {
		case msg, ok := <-recv:
			if !ok {
				if len(g.msgs) == 0 {
					return nil
				}
				in = nil // closed: wait for a slot only
				continue
			}
			g.add(msg)
		case acquire <- struct{}{}:
			c.topUp(&g, in)
			return g.msgs
		case <-t.C:
			c.inProgress(g.msgs)
		}
	}
}

// topUp adds to g what in holds already, and what arrives within
// BatchWait, until g is full.
func (c *Consumer) topUp(g *gathering, in <-chan jetstream.Msg) {
	var wait <-chan time.Time
	if c.cfg.BatchWait > 0 {
		t := time.NewTimer(c.cfg.BatchWait)
		defer t.Stop()
		wait = t.C
	}
	for !c.full(g) {
		select {
		case msg, ok := <-in:
			if !ok {
				return
			}
			g.add(msg)
			continue
		default:
		}
		if wait == nil {
			return
		}
		select {
		case msg, ok := <-in:
			if !ok {
				return
			}
			g.add(msg)
		case <-wait:
			return
		}
	}
}

// handleBatch runs the batch handler on batch, heartbeating while it
// works, and settles each message by its own result.
func (c *Consumer) handleBatch(batch []jetstream.Msg) {
	msgs, ms := make([]jetstream.Msg, 0, len(batch)), make([]*Msg, 0, len(batch))
	for _, msg := range batch {
		if m, ok := c.delivery(msg); ok {
			msgs, ms = append(msgs, msg), append(ms, m)
		}
	}
	if len(ms) == 0 {
		return
	}
	stop := c.heartbeat(msgs...)
	errs := c.callBatch(ms)
	stop()
	for i, msg := range msgs {
		c.settle(msg, ms[i], errs[i])
	}
}

// callBatch runs the batch handler; a panic, or results that do not
// match the messages, are an ordinary (retryable) error for each.
func (c *Consumer) callBatch(ms []*Msg) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			errs = slices.Repeat([]error{c.panicked(r)}, len(ms))
		}
	}()
	errs = c.batch(c.work, ms)
	if len(errs) != len(ms) {
		err := fmt.Errorf("batch handler returned %d results for %d messages", len(errs), len(ms))
		c.log.Error("batch handler bug", zap.Error(err))
		errs = slices.Repeat([]error{err}, len(ms))
	}
	return errs
}
