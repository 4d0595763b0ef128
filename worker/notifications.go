package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// NotifierConfig configures partner notifications; zero values take the
// defaults.
type NotifierConfig struct {
	// Consumer is the EVENTS consumer that queues deliveries.
	Consumer events.ConsumerConfig
	// Interval is how often due deliveries are looked for; default 1s.
	Interval time.Duration
	// Batch is how many deliveries one look claims; default 50.
	Batch int
	// Concurrency is how many requests are in flight at once; default 8.
	Concurrency int
	// Timeout bounds one attempt; default 15s.
	Timeout time.Duration
	// BackoffBase is the wait after the first failed attempt; each next
	// one waits 4 times longer (with ±20% jitter), up to BackoffMax.
	// Defaults 10s and 6h: ten attempts span about a day.
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts before a delivery fails; default 10.
	MaxAttempts int
}

func (c *NotifierConfig) defaults() {
	setDefault(&c.Interval, time.Second)
	setDefault(&c.Batch, 50)
	setDefault(&c.Concurrency, 8)
	setDefault(&c.Timeout, 15*time.Second)
	setDefault(&c.BackoffBase, 10*time.Second)
	setDefault(&c.BackoffMax, 6*time.Hour)
	setDefault(&c.MaxAttempts, 10)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// maxRetryAfter caps how long a receiver's Retry-After is honoured.
const maxRetryAfter = 24 * time.Hour

// Notifier delivers events to partners' notification endpoints: a
// durable consumer ("notifications") on EVENTS queues one delivery per
// subscribed endpoint, and a loop claims due deliveries and POSTs them,
// signed per Standard Webhooks, through the egress guard without
// following redirects. Failures are retried over hours; a 410 disables
// the endpoint. Several workers share the work safely. Start once, Stop
// to end.
type Notifier struct {
	cfg      NotifierConfig
	store    *store.Store
	sealer   *secret.Sealer
	http     *egress.Client
	consumer *events.Consumer
	log      *zap.Logger
	now      func() time.Time

	poke     chan struct{}
	stop     chan struct{}
	done     sync.WaitGroup
	stopOnce sync.Once
}

// NewNotifier returns the notifier. client must not retry or follow
// redirects (egress.Config MaxRetries -1): the notifier schedules its
// own retries.
func NewNotifier(cfg NotifierConfig, st *store.Store, sealer *secret.Sealer, client *egress.Client, js jetstream.JetStream,
	log *zap.Logger) *Notifier {
	cfg.defaults()
	n := &Notifier{cfg: cfg, store: st, sealer: sealer, http: client, log: log, now: time.Now,
		poke: make(chan struct{}, 1), stop: make(chan struct{})}
	cc := cfg.Consumer
	cc.Stream, cc.Durable, cc.Filter = events.StreamEvents, "notifications", []string{"evt.>"}
	n.consumer = events.NewConsumer(js, cc, n.queue, log)
	return n
}

// Start starts queuing and delivering.
func (n *Notifier) Start(ctx context.Context) error {
	if err := n.consumer.Start(ctx); err != nil {
		return err
	}
	n.done.Add(1)
	go n.loop()
	return nil
}

// Stop stops queuing and delivering, waiting for attempts in flight.
// Safe to call twice.
func (n *Notifier) Stop() {
	n.stopOnce.Do(func() {
		close(n.stop)
		n.consumer.Stop()
		n.done.Wait()
	})
}

// queue turns one event into deliveries; queuing it again is a no-op.
func (n *Notifier) queue(ctx context.Context, m *events.Msg) error {
	var ev tenantry.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.ID == "" || ev.PartnerID == "" {
		return events.Permanent(fmt.Errorf("decode event: %v", err))
	}
	var queued int
	err := awaitPostgres(ctx, n.log, defaultOutageWait, func() (err error) { queued, err = n.store.QueueNotifications(ctx, ev, m.Data); return err })
	if err == nil && queued > 0 {
		select {
		case n.poke <- struct{}{}:
		default:
		}
	}
	return err
}

func (n *Notifier) loop() {
	defer n.done.Done()
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		case <-n.poke:
		}
		for n.deliverDue() == n.cfg.Batch {
		}
	}
}

// deliverDue claims a batch of due deliveries and attempts each; it
// returns how many it claimed.
func (n *Notifier) deliverDue() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The lease outlives every attempt of the batch (Concurrency at a
	// time, each within Timeout), so no other worker sends them meanwhile;
	// a worker that dies leaves them due after it.
	rounds := (n.cfg.Batch + n.cfg.Concurrency - 1) / n.cfg.Concurrency
	due, err := n.store.ClaimDeliveries(ctx, n.cfg.Batch, time.Duration(rounds)*n.cfg.Timeout+time.Minute)
	if err != nil {
		n.log.Warn("claim notification deliveries", zap.Error(err))
		return 0
	}
	slots := make(chan struct{}, n.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, d := range due {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := n.store.RecordDelivery(ctx, d, n.attempt(ctx, d)); err != nil {
				n.log.Warn("record notification delivery", zap.String("delivery_id", d.ID), zap.Error(err))
			}
		}()
	}
	wg.Wait()
	return len(due)
}

// attempt sends d once and decides what follows.
func (n *Notifier) attempt(ctx context.Context, d *store.DueDelivery) store.DeliveryOutcome {
	if !d.EndpointActive {
		return store.DeliveryOutcome{Status: tenantry.DeliveryFailed, Error: "the endpoint is disabled"}
	}
	start := n.now()
	code, retryAfter, err := n.send(ctx, d)
	a := &tenantry.NotificationAttempt{At: start, StatusCode: code, DurationMS: int(n.now().Sub(start).Milliseconds())}
	if err != nil {
		a.Error = err.Error()
	}
	o := store.DeliveryOutcome{Attempt: a, Error: a.Error}
	switch {
	case err == nil:
		o.Status = tenantry.DeliverySucceeded
	case code == http.StatusGone:
		o.Status, o.Disable = tenantry.DeliveryFailed, true
		o.Error = "the endpoint answered 410 Gone: disabled until it is enabled again"
	case d.Attempts+1 >= n.cfg.MaxAttempts:
		o.Status = tenantry.DeliveryFailed
	default:
		o.Status, o.Next = tenantry.DeliveryPending, n.now().Add(max(n.backoff(d.Attempts+1), min(retryAfter, maxRetryAfter)))
	}
	return o
}

// send POSTs d's event, signed, and returns the status, the Retry-After
// the receiver asked for, and an error unless the answer was 2xx.
func (n *Notifier) send(ctx context.Context, d *store.DueDelivery) (int, time.Duration, error) {
	raw, err := n.sealer.Open(d.Secret, store.NotificationSecretAAD(d.EndpointID))
	if err != nil {
		return 0, 0, fmt.Errorf("open the endpoint's secret: %w", err)
	}
	key, err := webhook.DecodeSecret(string(raw))
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, 0, fmt.Errorf("bad endpoint URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	webhook.SignHeaders(req.Header, [][]byte{key}, d.EventID, n.now(), d.Payload)
	resp, err := n.http.Do(ctx, req)
	if err != nil {
		var blocked *egress.BlockedError
		if errors.As(err, &blocked) {
			return 0, 0, blocked
		}
		return 0, 0, fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code/100 == 2:
		return code, 0, nil
	case code/100 == 3:
		return code, 0, fmt.Errorf("HTTP %d: redirects are not followed; point the endpoint at the final URL", code)
	default:
		wait, _ := egress.RetryAfter(resp.Header, n.now())
		return code, wait, fmt.Errorf("HTTP %d: %s", code, bytes.TrimSpace(snippet))
	}
}

// backoff is the wait after attempt n failed: BackoffBase·4^(n-1),
// capped at BackoffMax, ±20% jitter so endpoints that failed together do
// not retry together.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.BackoffBase
	for i := 1; i < attempt && d < n.cfg.BackoffMax; i++ {
		d *= 4
	}
	d = min(d, n.cfg.BackoffMax)
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}
