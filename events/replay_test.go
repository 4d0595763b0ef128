package events_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
)

// seen records every delivery's body and replay markers.
type seen struct {
	mu   sync.Mutex
	msgs []events.Msg
}

func (s *seen) handler(_ context.Context, m *events.Msg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, *m)
	return nil
}

func (s *seen) replays() (n int, of []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if events.Replayed(&m) {
			n++
			of = append(of, m.Header.Get(events.HeaderReplayOf))
		}
	}
	return n, of
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamCommands)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

func publishOn(t *testing.T, js jetstream.JetStream, subj, id string) {
	t.Helper()
	m := tenantry.Message{ID: id, Subject: subj, Data: []byte("body-" + id)}
	require.NoError(t, events.NewPublisher(js, 5*time.Second).Publish(t.Context(), m))
}

func TestReplay(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	since := time.Now().Add(-time.Second)
	for _, id := range []string{"a1", "a2"} {
		publishOn(t, js, "cmd.a.t1", id)
	}
	publishOn(t, js, "cmd.b.t1", "b1")
	time.Sleep(20 * time.Millisecond)
	middle := time.Now()
	for _, id := range []string{"a3", "a4", "a5"} {
		publishOn(t, js, "cmd.a.t1", id)
	}
	var s seen
	startConsumer(t, js, events.ConsumerConfig{}, s.handler)
	requireSettled(t, js, 6)

	t.Run("DryRun", func(t *testing.T) {
		p, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since, DryRun: true}, nil)
		require.NoError(t, err)
		require.Equal(t, uint64(5), p.Matched)
		require.Zero(t, p.Published)
		require.EqualValues(t, 6, streamMsgs(t, js), "a dry run publishes nothing")
	})
	t.Run("Bounds", func(t *testing.T) {
		p, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since, Until: middle, DryRun: true}, nil)
		require.NoError(t, err)
		require.Equal(t, uint64(2), p.Matched, "until is exclusive")
		p, err = events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Since: since, ToSeq: 3, DryRun: true}, nil)
		require.NoError(t, err)
		require.Equal(t, []uint64{3, 1, 3}, []uint64{p.Matched, p.FirstSeq, p.LastSeq}, "to_seq is inclusive")
		p, err = events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Since: time.Now().Add(time.Hour)}, nil)
		require.NoError(t, err)
		require.Zero(t, p.Matched, "nothing after since: done at once")
	})
	var first events.ReplayProgress
	t.Run("Publishes", func(t *testing.T) {
		var calls []events.ReplayProgress
		p, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since, Rate: 25},
			func(p events.ReplayProgress) { calls = append(calls, p) })
		require.NoError(t, err)
		require.Equal(t, []uint64{5, 5, 5, 0, 0}, []uint64{p.Total, p.Matched, p.Published, p.Skipped, p.Applied})
		require.NotEmpty(t, calls, "progress after each batch")
		for i := 1; i < len(calls); i++ {
			require.Greater(t, calls[i].Matched, calls[i-1].Matched, "each batch moves on")
		}
		require.Equal(t, p, calls[len(calls)-1], "the last batch's progress is the result")
		requireSettled(t, js, 11)
		n, of := s.replays()
		require.Equal(t, 5, n, "each replayed once, marked")
		require.Equal(t, []string{"COMMANDS:1", "COMMANDS:2", "COMMANDS:4", "COMMANDS:5", "COMMANDS:6"}, of)
		first = p
	})
	t.Run("Paced", func(t *testing.T) {
		start := time.Now()
		_, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since, Until: middle,
			Rate: 10, DryRun: true}, nil)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond, "2 messages at 10/s take at least 0.1s")
	})
	t.Run("ReplaysAreSkipped", func(t *testing.T) {
		p, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since}, nil)
		require.NoError(t, err)
		require.Equal(t, []uint64{10, 5, 5}, []uint64{p.Matched, p.Published, p.Skipped}, "the first replay's copies are not replayed again")
		requireSettled(t, js, 16)
	})
	t.Run("SameIDPublishesOnce", func(t *testing.T) {
		before := streamMsgs(t, js)
		p, err := events.Replay(ctx, js, events.ReplaySpec{Stream: events.StreamCommands, Subject: "cmd.a.>", Since: since, ToSeq: 6, ID: first.ID}, nil)
		require.NoError(t, err)
		require.Equal(t, uint64(5), p.Published)
		require.Equal(t, before, streamMsgs(t, js), "JetStream drops a re-run of the same replay id")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for field, spec := range map[string]events.ReplaySpec{
			"stream":  {Stream: events.StreamDLQ, Since: since},
			"since":   {Stream: events.StreamCommands},
			"until":   {Stream: events.StreamCommands, Since: since, Until: middle, ToSeq: 3},
			"rate":    {Stream: events.StreamCommands, Since: since, Rate: -1},
			"subject": {Stream: events.StreamCommands, Since: since, Subject: "cmd.>.x"},
		} {
			_, err := events.Replay(ctx, js, spec, nil)
			require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), field)
			var e *tenantry.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, field, e.Fields[0].Field)
		}
	})
}

func TestValidFilter(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"hook.>", ">", "cmd.*.sub_1", "evt.sub_1.server.connected", "*"} {
		require.True(t, events.ValidFilter(ok), ok)
	}
	for _, bad := range []string{"", "hook.", ".hook", "a..b", "a b", "a.>.b", "a.b*", "a.>x", "a\x00"} {
		require.False(t, events.ValidFilter(bad), bad)
	}
}
