package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Msg is one delivery handed to a Handler.
type Msg struct {
	Subject   string
	Header    nats.Header
	Data      []byte
	Stream    string
	Sequence  uint64 // stream sequence
	Delivered int    // 1 on the first delivery
	// Last is true on the final delivery: if the handler fails now, the
	// message goes to the DLQ.
	Last bool
}

// Handler processes one message; its return value decides the message's
// fate: nil → Ack; an error wrapped by Permanent → Term and a copy to the
// DLQ; any other error → Nak with exponential backoff, and Term plus DLQ
// once MaxDeliver deliveries have failed. Handlers never ack by hand.
type Handler func(ctx context.Context, m *Msg) error

// ConsumerConfig configures a durable pull consumer. Zero values take the
// documented defaults.
type ConsumerConfig struct {
	Stream  string
	Durable string
	Filter  []string
	// Concurrency is how many handlers (of a batch consumer: batches) run
	// at once in this process; default 8.
	Concurrency int
	// MaxBatch bounds the messages a BatchHandler gets at once; default
	// 100. A per-message consumer ignores it.
	MaxBatch int
	// MaxBatchBytes ends a batch once its messages' data reach it (a batch
	// holds at least one message); default 4 MiB. It bounds the memory a
	// batch consumer holds however large its messages.
	MaxBatchBytes int
	// BatchWait is how long a batch, once it may run, waits for more
	// messages before it starts short of MaxBatch; default 0: it starts
	// with what has arrived. Batches then grow only while every slot is
	// busy; a wait makes them grow under any steady load, at the cost of
	// that much latency per message.
	BatchWait time.Duration
	// MaxAckPending bounds unacked messages across every replica sharing
	// the durable consumer; default 4096 (keep ≥ replicas × Concurrency,
	// × MaxBatch for a batch consumer).
	MaxAckPending int
	AckWait       time.Duration // redelivery after silence; default 30s, heartbeats every AckWait/3
	MaxDeliver    int           // deliveries before DLQ; default 8
	BackoffBase   time.Duration // first Nak delay; default 1s, doubling
	BackoffMax    time.Duration // Nak delay cap; default 5m
	DrainWait     time.Duration // how long Stop waits for in-flight handlers; default 30s
}

func (c *ConsumerConfig) defaults() {
	setDefault(&c.Concurrency, 8)
	setDefault(&c.MaxBatch, 100)
	setDefault(&c.MaxBatchBytes, 4<<20)
	setDefault(&c.MaxAckPending, 4096)
	setDefault(&c.AckWait, 30*time.Second)
	setDefault(&c.MaxDeliver, 8)
	setDefault(&c.BackoffBase, time.Second)
	setDefault(&c.BackoffMax, 5*time.Minute)
	setDefault(&c.DrainWait, 30*time.Second)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Consumer runs a Handler (or a BatchHandler) over a durable pull
// consumer with bounded concurrency. Start it once; Stop drains it.
type Consumer struct {
	js      jetstream.JetStream
	cfg     ConsumerConfig
	handler Handler
	batch   BatchHandler // instead of handler, for NewBatchConsumer
	log     *zap.Logger

	cons     jetstream.Consumer
	iter     jetstream.MessagesContext
	work     context.Context // handlers' context, cancelled if draining overruns
	cancel   context.CancelFunc
	loop     sync.WaitGroup
	inflight sync.WaitGroup
	stopOnce sync.Once
}

// NewConsumer returns a consumer that will run h; call Start.
func NewConsumer(js jetstream.JetStream, cfg ConsumerConfig, h Handler, log *zap.Logger) *Consumer {
	cfg.defaults()
	return &Consumer{js: js, cfg: cfg, handler: h, log: log.With(zap.String("consumer", cfg.Durable))}
}

// Start creates or updates the durable consumer and starts pulling.
func (c *Consumer) Start(ctx context.Context) error {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable: c.cfg.Durable, FilterSubjects: c.cfg.Filter, AckPolicy: jetstream.AckExplicitPolicy,
		// MaxDeliver is enforced here, not by the server: a message whose
		// DLQ copy failed on its last delivery must be delivered again so
		// the copy is retried, or it would be lost.
		AckWait: c.cfg.AckWait, MaxDeliver: -1, MaxAckPending: c.cfg.MaxAckPending,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", c.cfg.Durable, err)
	}
	// The iterator buffers Concurrency messages, for either kind of
	// consumer. Messages wait there, not heartbeated, until taken (a batch
	// consumer takes them as they come, until its next batch is full and
	// every slot busy): the fewer wait unseen, the fewer can outlive
	// AckWait there and be delivered again meanwhile.
	iter, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.cfg.Durable, err)
	}
	c.cons, c.iter = cons, iter
	c.work, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.loop.Add(1)
	if c.batch != nil {
		go c.runBatches()
	} else {
		go c.run()
	}
	return nil
}

// Config returns the consumer's configuration, defaults filled in.
func (c *Consumer) Config() ConsumerConfig { return c.cfg }

// Stop stops pulling, lets buffered and in-flight messages finish (up to
// DrainWait, then cancels their context), and returns when every handler
// has returned. Safe to call twice.
func (c *Consumer) Stop() {
	c.stopOnce.Do(func() {
		if c.iter == nil {
			return
		}
		// Draining needs the server; when it is unreachable, stop at once:
		// buffered messages were never acked and will be redelivered.
		if c.js.Conn().IsConnected() {
			c.iter.Drain()
		} else {
			c.iter.Stop()
		}
		done := make(chan struct{})
		go func() { c.loop.Wait(); c.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(c.cfg.DrainWait):
			c.log.Warn("drain timed out; cancelling in-flight handlers")
			c.cancel()
			<-done
		}
		c.cancel()
	})
}

// Lag returns how many messages wait for this consumer: not yet delivered
// plus delivered and not yet acknowledged.
func (c *Consumer) Lag(ctx context.Context) (uint64, error) {
	if c.cons == nil {
		return 0, errors.New("consumer not started")
	}
	info, err := c.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer info: %w", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

func (c *Consumer) run() {
	defer c.loop.Done()
	slots := make(chan struct{}, c.cfg.Concurrency)
	for {
		slots <- struct{}{}
		msg, err := c.iter.Next(jetstream.NextContext(c.work))
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) || (err != nil && c.work.Err() != nil) {
			return
		}
		if err != nil {
			<-slots
			c.log.Warn("pull", zap.Error(err))
			continue
		}
		c.inflight.Add(1)
		go func() {
			defer func() { <-slots; c.inflight.Done() }()
			c.handle(msg)
		}()
	}
}
