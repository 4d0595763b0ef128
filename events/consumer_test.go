package events_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// recorder keeps every delivery a handler saw.
type recorder struct {
	mu  sync.Mutex
	got []delivery
}

type delivery struct {
	msg events.Msg
	at  time.Time
}

// record stores m and returns how many deliveries came before it.
func (r *recorder) record(m *events.Msg) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivery{msg: *m, at: time.Now()})
	return len(r.got) - 1
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// attempts returns Delivered and Last of each delivery, in order.
func (r *recorder) attempts() (delivered []int, last []bool) {
	for _, d := range r.deliveries() {
		delivered, last = append(delivered, d.msg.Delivered), append(last, d.msg.Last)
	}
	return delivered, last
}

func requireEmptyDLQ(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamDLQ)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs, "nothing may be dead-lettered")
}

func TestConsumerAck(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec recorder
	publish(t, js, "job-1", map[string]string{tenantry.HeaderTenant: "t1"})
	startConsumer(t, js, events.ConsumerConfig{}, func(_ context.Context, m *events.Msg) error {
		rec.record(m)
		return nil
	})

	info := requireSettled(t, js, 1)
	require.Zero(t, info.NumRedelivered)
	got := rec.deliveries()
	require.Len(t, got, 1, "an acked message is handled once")
	m := got[0].msg
	require.Equal(t, subject, m.Subject)
	require.Equal(t, []byte("body-job-1"), m.Data)
	require.Equal(t, "t1", m.Header.Get(tenantry.HeaderTenant))
	require.Equal(t, events.StreamCommands, m.Stream)
	require.Equal(t, uint64(1), m.Sequence)
	require.Equal(t, 1, m.Delivered)
	require.False(t, m.Last)
	requireEmptyDLQ(t, js)
}

func TestConsumerRetry(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec recorder
	publish(t, js, "job-1", nil)
	startConsumer(t, js, events.ConsumerConfig{MaxDeliver: 5, BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second},
		func(_ context.Context, m *events.Msg) error {
			if rec.record(m) < 2 {
				return errors.New("flaky")
			}
			return nil
		})

	requireSettled(t, js, 1)
	delivered, last := rec.attempts()
	require.Equal(t, []int{1, 2, 3}, delivered)
	require.Equal(t, []bool{false, false, false}, last)
	got := rec.deliveries()
	// The Nak delays are 50ms and 100ms, each -20% at worst.
	require.GreaterOrEqual(t, got[1].at.Sub(got[0].at), 40*time.Millisecond, "first retry must wait for the backoff")
	require.GreaterOrEqual(t, got[2].at.Sub(got[1].at), 80*time.Millisecond, "second retry must wait twice as long")
	requireEmptyDLQ(t, js)
}

func TestConsumerPermanent(t *testing.T) {
	t.Parallel()
	cause := errors.New("bad payload")
	for name, err := range map[string]error{
		"Permanent":        events.Permanent(cause),
		"WrappedPermanent": fmt.Errorf("decode: %w", events.Permanent(cause)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, js := setup(t)
			var rec recorder
			publish(t, js, "job-1", map[string]string{tenantry.HeaderTenant: "t1", tenantry.HeaderJob: "job-1"})
			startConsumer(t, js, events.ConsumerConfig{}, func(_ context.Context, m *events.Msg) error {
				rec.record(m)
				return err
			})

			dead := dlqCopy(t, js)
			requireSettled(t, js, 1)
			require.Len(t, rec.deliveries(), 1, "a permanent failure is not retried")
			require.Equal(t, "dlq."+subject, dead.Subject)
			require.Equal(t, []byte("body-job-1"), dead.Data)
			require.Equal(t, "terminated", dead.Header.Get(events.HeaderDLQReason))
			require.Equal(t, subject, dead.Header.Get(events.HeaderDLQSubject))
			require.Equal(t, events.StreamCommands, dead.Header.Get(events.HeaderDLQStream))
			require.Equal(t, "1", dead.Header.Get(events.HeaderDLQSequence))
			require.Equal(t, "1", dead.Header.Get(events.HeaderDLQDeliveries))
			require.Contains(t, dead.Header.Get(events.HeaderDLQError), "bad payload")
			require.Equal(t, "t1", dead.Header.Get(tenantry.HeaderTenant), "original headers are kept")
			require.Equal(t, "job-1", dead.Header.Get(tenantry.HeaderJob))
			require.Equal(t, "dlq-COMMANDS-1", dead.Header.Get(nats.MsgIdHdr), "the copy has its own dedupe id")
		})
	}
}

func TestConsumerMaxDeliver(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec recorder
	publish(t, js, "job-1", map[string]string{tenantry.HeaderTenant: "t1"})
	startConsumer(t, js, events.ConsumerConfig{MaxDeliver: 3}, func(_ context.Context, m *events.Msg) error {
		rec.record(m)
		return errors.New("still down")
	})

	dead := dlqCopy(t, js)
	requireSettled(t, js, 1)
	delivered, last := rec.attempts()
	require.Equal(t, []int{1, 2, 3}, delivered)
	require.Equal(t, []bool{false, false, true}, last, "Last is set on the final delivery only")
	require.Equal(t, "max_deliver", dead.Header.Get(events.HeaderDLQReason))
	require.Equal(t, "3", dead.Header.Get(events.HeaderDLQDeliveries))
	require.Equal(t, "1", dead.Header.Get(events.HeaderDLQSequence))
	require.Equal(t, "still down", dead.Header.Get(events.HeaderDLQError))
	require.Equal(t, "t1", dead.Header.Get(tenantry.HeaderTenant))
	require.Equal(t, []byte("body-job-1"), dead.Data)
}

// TestConsumerDLQOutage: when the DLQ copy fails on the last delivery,
// the message is delivered again until the copy succeeds — never lost,
// and the handler is not run again.
func TestConsumerDLQOutage(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	require.NoError(t, js.DeleteStream(ctx, events.StreamDLQ))
	var rec recorder
	publish(t, js, "job-1", nil)
	startConsumer(t, js, events.ConsumerConfig{MaxDeliver: 2, BackoffMax: 200 * time.Millisecond},
		func(_ context.Context, m *events.Msg) error {
			rec.record(m)
			return errors.New("still down")
		})
	require.Eventually(t, func() bool { d, _ := rec.attempts(); return len(d) == 2 }, 5*time.Second, 20*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the DLQ copy fails at least once
	require.NoError(t, events.EnsureStreams(ctx, js, 1))

	dead := dlqCopy(t, js)
	requireSettled(t, js, 1)
	require.Equal(t, "max_deliver", dead.Header.Get(events.HeaderDLQReason))
	delivered, _ := rec.attempts()
	require.Equal(t, []int{1, 2}, delivered, "the handler ran MaxDeliver times, no more")
}

func TestConsumerPanic(t *testing.T) {
	t.Parallel()
	t.Run("Retried", func(t *testing.T) {
		t.Parallel()
		_, js := setup(t)
		var rec recorder
		publish(t, js, "job-1", nil)
		startConsumer(t, js, events.ConsumerConfig{}, func(_ context.Context, m *events.Msg) error {
			if rec.record(m) == 0 {
				panic("boom")
			}
			return nil
		})

		requireSettled(t, js, 1)
		delivered, _ := rec.attempts()
		require.Equal(t, []int{1, 2}, delivered)
		publish(t, js, "job-2", nil)
		requireSettled(t, js, 2) // the consumer still runs
		requireEmptyDLQ(t, js)
	})
	t.Run("DeadLettered", func(t *testing.T) {
		t.Parallel()
		_, js := setup(t)
		publish(t, js, "job-1", nil)
		startConsumer(t, js, events.ConsumerConfig{MaxDeliver: 1}, func(context.Context, *events.Msg) error {
			panic("boom")
		})

		dead := dlqCopy(t, js)
		require.Equal(t, "max_deliver", dead.Header.Get(events.HeaderDLQReason))
		require.Equal(t, "handler panic: boom", dead.Header.Get(events.HeaderDLQError))
	})
}

func TestConsumerHeartbeat(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec recorder
	publish(t, js, "job-1", nil)
	startConsumer(t, js, events.ConsumerConfig{AckWait: time.Second, Concurrency: 2}, func(ctx context.Context, m *events.Msg) error {
		rec.record(m)
		select { // work for 2.5 AckWaits
		case <-time.After(2500 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})

	requireSettled(t, js, 1)
	delivered, _ := rec.attempts()
	require.Equal(t, []int{1}, delivered, "long work must not be redelivered while it runs")
}

func TestConsumerConcurrency(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	const n = 20
	for i := range n {
		publish(t, js, "job-"+strconv.Itoa(i), nil)
	}
	var mu sync.Mutex
	running, peak, seen := 0, 0, map[uint64]bool{}
	startConsumer(t, js, events.ConsumerConfig{Concurrency: 3}, func(_ context.Context, m *events.Msg) error {
		mu.Lock()
		running++
		peak, seen[m.Sequence] = max(peak, running), true
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})

	requireSettled(t, js, n)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, n)
	require.Equal(t, 3, peak, "handlers must run three at a time, never more")
}

func TestConsumerStop(t *testing.T) {
	t.Parallel()
	t.Run("DrainsInFlight", func(t *testing.T) {
		t.Parallel()
		_, js := setup(t)
		const n = 4
		for i := range n {
			publish(t, js, "job-"+strconv.Itoa(i), nil)
		}
		started, release := make(chan struct{}, n), make(chan struct{})
		var finished atomic.Int32
		// A spare slot, so the pull loop is idle and only the handlers
		// can keep Stop waiting.
		cfg := events.ConsumerConfig{Concurrency: n + 1, DrainWait: 3 * time.Second}
		c := startConsumer(t, js, cfg, func(ctx context.Context, _ *events.Msg) error {
			started <- struct{}{}
			select {
			case <-release:
				finished.Add(1)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		for range n {
			waitFor(t, started, "handler start")
		}

		stopped := make(chan struct{})
		go func() { c.Stop(); close(stopped) }()
		require.Never(t, func() bool { return isClosed(stopped) }, 100*time.Millisecond, 10*time.Millisecond,
			"Stop returned while handlers were running")
		close(release)
		waitFor(t, stopped, "Stop")
		require.Equal(t, int32(n), finished.Load(), "every in-flight handler finishes, uncancelled, before Stop returns")
		requireSettled(t, js, n)

		again := make(chan struct{})
		go func() { c.Stop(); close(again) }()
		waitFor(t, again, "second Stop")
	})
	t.Run("CancelsAfterDrainWait", func(t *testing.T) {
		t.Parallel()
		_, js := setup(t)
		publish(t, js, "job-1", nil)
		started, cancelled := make(chan struct{}), make(chan struct{})
		c := startConsumer(t, js, events.ConsumerConfig{DrainWait: 100 * time.Millisecond}, func(ctx context.Context, _ *events.Msg) error {
			close(started)
			select {
			case <-ctx.Done():
				close(cancelled)
				return ctx.Err()
			case <-time.After(3 * time.Second):
				return nil
			}
		})
		waitFor(t, started, "handler start")

		stopped := make(chan struct{})
		go func() { c.Stop(); close(stopped) }()
		waitFor(t, stopped, "Stop")
		require.True(t, isClosed(cancelled), "a handler overrunning DrainWait sees its context cancelled before Stop returns")
	})
	t.Run("NATSDown", func(t *testing.T) {
		t.Parallel()
		ns, js := connect(t)
		require.NoError(t, events.EnsureStreams(t.Context(), js, 1))
		c := startConsumer(t, js, events.ConsumerConfig{DrainWait: 5 * time.Second},
			func(context.Context, *events.Msg) error { return nil })
		ns.Shutdown()
		require.Eventually(t, func() bool { return !js.Conn().IsConnected() }, 5*time.Second, 10*time.Millisecond)

		stopped := make(chan struct{})
		go func() { c.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(time.Second):
			t.Fatal("Stop must not wait for an unreachable server")
		}
	})
	t.Run("BeforeStart", func(t *testing.T) {
		t.Parallel()
		_, js := setup(t)
		c := events.NewConsumer(js, events.ConsumerConfig{Stream: events.StreamCommands, Durable: "test"},
			func(context.Context, *events.Msg) error { return nil }, zap.NewNop())
		stopped := make(chan struct{})
		go func() { c.Stop(); c.Stop(); close(stopped) }()
		waitFor(t, stopped, "Stop")
	})
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestConsumerLag: Lag counts what waits for the consumer — undelivered
// plus delivered-but-unacked — and falls to zero once all is handled.
func TestConsumerLag(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	release := make(chan struct{})
	for i := range 5 {
		publish(t, js, fmt.Sprintf("job-%d", i), nil)
	}
	c := startConsumer(t, js, events.ConsumerConfig{Concurrency: 1}, func(ctx context.Context, _ *events.Msg) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	require.Eventually(t, func() bool { n, err := c.Lag(ctx); return err == nil && n == 5 }, 5*time.Second, 20*time.Millisecond)
	close(release)
	require.Eventually(t, func() bool { n, err := c.Lag(ctx); return err == nil && n == 0 }, 5*time.Second, 20*time.Millisecond)
}
