package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// effects is what a handler applied, by message body, idempotently.
type effects struct {
	mu      sync.Mutex
	applied map[string]int
	redrive map[string]string // body → Tenantry-Redrive of the delivery that applied it
}

func (e *effects) apply(m *events.Msg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applied[string(m.Data)]++
	e.redrive[string(m.Data)] = m.Header.Get(events.HeaderRedrive)
}

func (e *effects) count(body string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.applied[body]
}

func dlqLen(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamDLQ)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

// TestDLQRedriveRoundTrip: a poison message is dead-lettered after
// MaxDeliver deliveries, listed and shown with why it died, redriven
// once the bug is fixed, and applied exactly once.
func TestDLQRedriveRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	var fixed atomic.Bool
	fx := &effects{applied: map[string]int{}, redrive: map[string]string{}}
	publish(t, js, "job-1", map[string]string{tenantry.HeaderTenant: "t1"})
	startConsumer(t, js, events.ConsumerConfig{MaxDeliver: 3}, func(_ context.Context, m *events.Msg) error {
		if !fixed.Load() {
			return errors.New("bug: cannot parse the payload")
		}
		fx.apply(m)
		return nil
	})
	dlqCopy(t, js)
	dlq := events.NewDeadLetters(js)

	list, next, err := dlq.List(ctx, events.DLQFilter{})
	require.NoError(t, err)
	require.Zero(t, next)
	require.Len(t, list, 1)
	dl := list[0]
	require.Equal(t, subject, dl.Subject)
	require.Equal(t, events.StreamCommands, dl.Stream)
	require.Equal(t, uint64(1), dl.StreamSeq)
	require.Equal(t, "max_deliver", dl.Reason)
	require.Equal(t, 3, dl.Deliveries)
	require.Equal(t, "bug: cannot parse the payload", dl.Error)
	require.Nil(t, dl.Data, "a listing carries no data")
	shown, err := dlq.Get(ctx, dl.Seq)
	require.NoError(t, err)
	require.Equal(t, []byte("body-job-1"), shown.Data)
	require.Equal(t, "t1", shown.Header[tenantry.HeaderTenant][0])
	_, err = dlq.Get(ctx, dl.Seq+100)
	require.Equal(t, tenantry.ENOTFOUND, tenantry.ErrorCode(err))

	fixed.Store(true)
	n, err := dlq.Redrive(ctx, events.DLQSelect{Seqs: []uint64{dl.Seq}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool { return fx.count("body-job-1") == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, fmt.Sprint(dl.Seq), fx.redrive["body-job-1"], "the redriven copy is marked")
	require.Zero(t, dlqLen(t, js), "a redriven message leaves the DLQ")
	_, err = dlq.Redrive(ctx, events.DLQSelect{Seqs: []uint64{dl.Seq}})
	require.Equal(t, tenantry.ENOTFOUND, tenantry.ErrorCode(err), "it cannot be redriven twice")
	requireSettled(t, js, 2)
	require.Equal(t, 1, fx.count("body-job-1"), "applied once")
}

// poison publishes n messages on subj that a consumer dead-letters at
// once, and waits until the DLQ holds want.
func poison(t *testing.T, js jetstream.JetStream, subj string, n int, want uint64) {
	t.Helper()
	for i := range n {
		m := tenantry.Message{ID: fmt.Sprintf("%s-%d", subj, i), Subject: subj, Data: []byte("x")}
		require.NoError(t, events.NewPublisher(js, 5*time.Second).Publish(t.Context(), m))
	}
	require.Eventually(t, func() bool { return dlqLen(t, js) == want }, 5*time.Second, 10*time.Millisecond)
}

func TestDLQListAndPurge(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	startConsumer(t, js, events.ConsumerConfig{}, func(context.Context, *events.Msg) error {
		return events.Permanent(errors.New("never"))
	})
	poison(t, js, "cmd.a.t1", 3, 3)
	poison(t, js, "cmd.b.t1", 2, 5)
	dlq := events.NewDeadLetters(js)

	page, next, err := dlq.List(ctx, events.DLQFilter{Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	rest, last, err := dlq.List(ctx, events.DLQFilter{Limit: 2, After: next})
	require.NoError(t, err)
	require.Len(t, rest, 2)
	require.Greater(t, rest[0].Seq, page[1].Seq)
	final, last, err := dlq.List(ctx, events.DLQFilter{Limit: 2, After: last})
	require.NoError(t, err)
	require.Len(t, final, 1)
	require.Zero(t, last)
	onlyB, _, err := dlq.List(ctx, events.DLQFilter{Subject: "cmd.b.>"})
	require.NoError(t, err)
	require.Len(t, onlyB, 2)
	require.Equal(t, "terminated", onlyB[0].Reason)

	_, _, err = dlq.List(ctx, events.DLQFilter{Subject: "cmd a"})
	require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err))
	for _, bad := range []events.DLQSelect{{}, {Subject: "cmd.a.>", All: true}, {Seqs: []uint64{1}, Subject: "x"}, {Subject: "cmd..a"}} {
		_, err := dlq.Purge(ctx, bad)
		require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), "%+v", bad)
	}
	n, err := dlq.Purge(ctx, events.DLQSelect{Seqs: []uint64{page[0].Seq}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = dlq.Purge(ctx, events.DLQSelect{Subject: "cmd.b.>"})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.EqualValues(t, 2, dlqLen(t, js))
	n, err = dlq.Purge(ctx, events.DLQSelect{All: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Zero(t, dlqLen(t, js))
}
