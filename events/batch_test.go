package events_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry/events"
)

// batches keeps every batch a batch handler saw.
type batches struct {
	mu  sync.Mutex
	got [][]events.Msg
}

// record stores msgs as a batch and returns how many batches came
// before it.
func (b *batches) record(msgs []*events.Msg) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	batch := make([]events.Msg, len(msgs))
	for i, m := range msgs {
		batch[i] = *m
	}
	b.got = append(b.got, batch)
	return len(b.got) - 1
}

func (b *batches) all() [][]events.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]events.Msg(nil), b.got...)
}

// deliveries returns the Delivered of each delivery of the message
// whose body is body, in order.
func (b *batches) deliveries(body string) []int {
	var out []int
	for _, batch := range b.all() {
		for _, m := range batch {
			if string(m.Data) == body {
				out = append(out, m.Delivered)
			}
		}
	}
	return out
}

// startBatchConsumer runs h on the COMMANDS stream until t ends, with
// timings as startConsumer's.
func startBatchConsumer(t *testing.T, js jetstream.JetStream, cfg events.ConsumerConfig, h events.BatchHandler) *events.Consumer {
	t.Helper()
	c := events.NewBatchConsumer(js, testConsumer(cfg), h, zaptest.NewLogger(t))
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(c.Stop)
	return c
}

// deadLetters returns the DLQ copies by their body.
func deadLetters(t *testing.T, js jetstream.JetStream) map[string]*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamDLQ)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	out := map[string]*jetstream.RawStreamMsg{}
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		out[string(m.Data)] = m
	}
	return out
}

// TestBatchConsumerSettlesEachMessage: one batch holds a message that
// succeeds, one that fails once, one that fails for good and one that
// fails on every delivery. Each is settled by its own result: acked,
// retried then acked, dead-lettered at once, dead-lettered after
// MaxDeliver deliveries.
func TestBatchConsumerSettlesEachMessage(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec batches
	held, release := make(chan struct{}), make(chan struct{})
	publish(t, js, "gate", nil)
	startBatchConsumer(t, js, events.ConsumerConfig{Concurrency: 1, MaxDeliver: 2}, func(_ context.Context, msgs []*events.Msg) []error {
		if rec.record(msgs) == 0 {
			close(held) // the others gather into one batch meanwhile
			<-release
		}
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			switch string(m.Data) {
			case "body-flaky":
				if m.Delivered == 1 {
					errs[i] = errors.New("flaky")
				}
			case "body-bad":
				errs[i] = events.Permanent(errors.New("bad payload"))
			case "body-down":
				errs[i] = errors.New("still down")
			}
		}
		return errs
	})
	waitFor(t, held, "first batch")
	for _, id := range []string{"ok", "flaky", "bad", "down"} {
		publish(t, js, id, nil)
	}
	require.Eventually(t, func() bool { return consumerInfo(t, js).Delivered.Stream == 5 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the last one reaches the gathered batch
	close(release)

	requireSettled(t, js, 5)
	got := rec.all()
	require.Len(t, got[1], 4, "the four messages published while the slot was busy form one batch")
	require.Equal(t, []int{1}, rec.deliveries("body-ok"), "acked")
	require.Equal(t, []int{1, 2}, rec.deliveries("body-flaky"), "retried, then acked")
	require.Equal(t, []int{1}, rec.deliveries("body-bad"), "a permanent failure is not retried")
	require.Equal(t, []int{1, 2}, rec.deliveries("body-down"), "retried up to MaxDeliver")
	for _, batch := range got {
		for _, m := range batch {
			require.Equal(t, m.Delivered == 2, m.Last, "Last is set on the final delivery of %s", m.Data)
		}
	}
	var dead map[string]*jetstream.RawStreamMsg
	require.Eventually(t, func() bool { dead = deadLetters(t, js); return len(dead) == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, "terminated", dead["body-bad"].Header.Get(events.HeaderDLQReason))
	require.Equal(t, "bad payload", dead["body-bad"].Header.Get(events.HeaderDLQError))
	require.Equal(t, "max_deliver", dead["body-down"].Header.Get(events.HeaderDLQReason))
	require.Equal(t, "2", dead["body-down"].Header.Get(events.HeaderDLQDeliveries))
}

// TestBatchConsumerPanic: a panic in the batch handler fails every
// message of its batch, and they are retried; the consumer goes on.
func TestBatchConsumerPanic(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec batches
	for i := range 3 {
		publish(t, js, "job-"+strconv.Itoa(i), nil)
	}
	startBatchConsumer(t, js, events.ConsumerConfig{}, func(_ context.Context, msgs []*events.Msg) []error {
		if rec.record(msgs) == 0 {
			panic("boom")
		}
		return make([]error, len(msgs))
	})

	requireSettled(t, js, 3)
	first := rec.all()[0]
	for _, m := range first {
		require.Equal(t, []int{1, 2}, rec.deliveries(string(m.Data)), "%s was in the batch that panicked", m.Data)
	}
	publish(t, js, "job-3", nil)
	requireSettled(t, js, 4) // the consumer still runs
	requireEmptyDLQ(t, js)
}

// TestBatchConsumerBatches: with a backlog, the handler gets batches of
// many messages, never more than MaxBatch, and each message once.
func TestBatchConsumerBatches(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	const n, maxBatch = 500, 50
	for i := range n {
		publish(t, js, "job-"+strconv.Itoa(i), nil)
	}
	var rec batches
	startBatchConsumer(t, js, events.ConsumerConfig{Concurrency: 2, MaxBatch: maxBatch}, func(_ context.Context, msgs []*events.Msg) []error {
		rec.record(msgs)
		time.Sleep(5 * time.Millisecond)
		return make([]error, len(msgs))
	})

	requireSettled(t, js, n)
	seen, largest := map[uint64]int{}, 0
	for _, batch := range rec.all() {
		largest = max(largest, len(batch))
		for _, m := range batch {
			seen[m.Sequence]++
		}
	}
	require.Len(t, seen, n)
	for seq, times := range seen {
		require.Equal(t, 1, times, "message %d handled once", seq)
	}
	require.Equal(t, maxBatch, largest, "a backlog fills batches up to MaxBatch")
	require.Less(t, len(rec.all()), n/5, "batches, not single messages")
}

// TestBatchConsumerLowLoad: a lone message is handled at once, not held
// back to fill a batch.
func TestBatchConsumerLowLoad(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	got := make(chan time.Time, 10)
	startBatchConsumer(t, js, events.ConsumerConfig{}, func(_ context.Context, msgs []*events.Msg) []error {
		got <- time.Now()
		return make([]error, len(msgs))
	})
	for i := range 3 {
		sent := time.Now()
		publish(t, js, "job-"+strconv.Itoa(i), nil)
		select {
		case at := <-got:
			require.Less(t, at.Sub(sent), 250*time.Millisecond, "a lone message waits for nothing")
		case <-time.After(5 * time.Second):
			t.Fatal("message never handled")
		}
		time.Sleep(100 * time.Millisecond)
	}
	requireSettled(t, js, 3)
}

// TestBatchConsumerHeartbeat: neither a batch that works for longer than
// AckWait nor a message waiting meanwhile for a free slot is redelivered.
func TestBatchConsumerHeartbeat(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	var rec batches
	publish(t, js, "job-1", nil)
	started := make(chan struct{})
	startBatchConsumer(t, js, events.ConsumerConfig{AckWait: time.Second, Concurrency: 1}, func(ctx context.Context, msgs []*events.Msg) []error {
		if rec.record(msgs) == 0 {
			close(started)
			select { // work for 2.5 AckWaits
			case <-time.After(2500 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		return make([]error, len(msgs))
	})
	waitFor(t, started, "first batch")
	publish(t, js, "job-2", nil) // waits for the only slot

	requireSettled(t, js, 2)
	require.Equal(t, []int{1}, rec.deliveries("body-job-1"), "long work must not be redelivered while it runs")
	require.Equal(t, []int{1}, rec.deliveries("body-job-2"), "a message waiting for a slot must not be redelivered")
}

// TestBatchConsumerStop: Stop waits for the batches in flight, which
// finish uncancelled and are settled.
func TestBatchConsumerStop(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	const n = 4
	for i := range n {
		publish(t, js, "job-"+strconv.Itoa(i), nil)
	}
	started, release := make(chan struct{}, n), make(chan struct{})
	var mu sync.Mutex
	finished := 0
	c := startBatchConsumer(t, js, events.ConsumerConfig{DrainWait: 3 * time.Second}, func(ctx context.Context, msgs []*events.Msg) []error {
		for range msgs {
			started <- struct{}{}
		}
		select {
		case <-release:
			mu.Lock()
			finished += len(msgs)
			mu.Unlock()
			return make([]error, len(msgs))
		case <-ctx.Done():
			return slices.Repeat([]error{ctx.Err()}, len(msgs))
		}
	})
	for range n {
		waitFor(t, started, "handler start")
	}

	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	require.Never(t, func() bool { return isClosed(stopped) }, 100*time.Millisecond, 10*time.Millisecond,
		"Stop returned while batches were running")
	close(release)
	waitFor(t, stopped, "Stop")
	mu.Lock()
	require.Equal(t, n, finished, "every message in flight is handled, uncancelled, before Stop returns")
	mu.Unlock()
	requireSettled(t, js, n)
}

// TestBatchConsumerBatchWait: with a wait, messages trickling in one at a
// time, each while a slot is free, still arrive together, in one batch;
// without one, they are handled as they come, in smaller batches.
func TestBatchConsumerBatchWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		wait     time.Duration
		together bool
	}{{"Wait", 400 * time.Millisecond, true}, {"NoWait", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, js := setup(t)
			b := &batches{}
			startBatchConsumer(t, js, events.ConsumerConfig{BatchWait: tc.wait, MaxBatch: 5},
				func(_ context.Context, msgs []*events.Msg) []error {
					b.record(msgs)
					return make([]error, len(msgs))
				})
			for i := range 5 {
				publish(t, js, "job-"+strconv.Itoa(i), nil)
				time.Sleep(20 * time.Millisecond)
			}
			requireSettled(t, js, 5)
			largest := 0
			for _, batch := range b.all() {
				largest = max(largest, len(batch))
			}
			require.Equal(t, tc.together, largest == 5, "largest batch %d", largest)
		})
	}
}

// TestBatchConsumerMaxBatchBytes: a batch ends once its messages' data
// reach MaxBatchBytes, however many more are there and however long it
// may wait.
func TestBatchConsumerMaxBatchBytes(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	for i := range 6 {
		publish(t, js, "job-"+strconv.Itoa(i), nil) // "body-job-N": 10 bytes each
	}
	b := &batches{}
	startBatchConsumer(t, js, events.ConsumerConfig{MaxBatchBytes: 25, BatchWait: 500 * time.Millisecond},
		func(_ context.Context, msgs []*events.Msg) []error {
			b.record(msgs)
			return make([]error, len(msgs))
		})
	requireSettled(t, js, 6)
	sizes := []int{}
	for _, batch := range b.all() {
		sizes = append(sizes, len(batch))
	}
	require.Equal(t, []int{3, 3}, sizes, "three messages of 10 bytes reach 25")
}
