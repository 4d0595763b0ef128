package events_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/events"
)

// checkLog is an applied check that reports applied the messages whose
// sequence is a multiple of three, recording each batch it is given.
type checkLog struct {
	mu      sync.Mutex
	batches [][]uint64
	headers int // candidates that carried their headers
	first   time.Duration
	failOn  int // fail the call with this number (1-based); 0: never
}

var errCheck = errors.New("postgres went away")

func (c *checkLog) applied(_ context.Context, stream string, msgs []events.ReplayCandidate) ([]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.batches) == 0 {
		time.Sleep(c.first) // let the reader fill the next batch to its bound
	}
	var seqs []uint64
	out := make([]bool, len(msgs))
	for i, m := range msgs {
		if stream != events.StreamCommands || m.Subject != "cmd.a.t1" || m.Header.Get(events.HeaderReplay) != "" {
			return nil, errors.New("not a message of the range")
		}
		if m.Header.Get("Nats-Msg-Id") == "m"+strconv.FormatUint(m.Seq, 10) {
			c.headers++
		}
		seqs, out[i] = append(seqs, m.Seq), m.Seq%3 == 0
	}
	c.batches = append(c.batches, seqs)
	if len(c.batches) == c.failOn {
		return nil, errCheck
	}
	return out, nil
}

// seqs returns every sequence the check was given, in order, and the
// largest batch.
func (c *checkLog) seqs() (all []uint64, largest int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.batches {
		all, largest = append(all, b...), max(largest, len(b))
	}
	return all, largest
}

// publishN publishes n messages on cmd.a.t1, with Nats-Msg-Id m<seq>.
func publishN(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		_, err := js.Publish(t.Context(), "cmd.a.t1", []byte("body"), jetstream.WithMsgID("m"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
}

// replayedOf returns the Tenantry-Replay-Of of every message stored
// after sequence after.
func replayedOf(t *testing.T, js jetstream.JetStream, after uint64) []string {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamCommands)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	var of []string
	for seq := after + 1; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		of = append(of, m.Header.Get(events.HeaderReplayOf))
	}
	return of
}

// unapplied is "COMMANDS:<seq>" for each sequence first to last that
// checkLog does not report applied.
func unapplied(first, last uint64) []string {
	var of []string
	for seq := first; seq <= last; seq++ {
		if seq%3 != 0 {
			of = append(of, "COMMANDS:"+strconv.FormatUint(seq, 10))
		}
	}
	return of
}

func seqRange(first, last uint64) []uint64 {
	var s []uint64
	for seq := first; seq <= last; seq++ {
		s = append(s, seq)
	}
	return s
}

// TestReplayApplied: a replay with a check publishes again only what the
// check does not report applied, asking about every message of the range
// once, in order, in batches of at most 1000, also when the range ends
// in the middle of one.
func TestReplayApplied(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	since := time.Now().Add(-time.Second)
	const n = 2500
	publishN(t, js, n)

	t.Run("DryRun", func(t *testing.T) {
		c := &checkLog{}
		p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since, DryRun: true}, nil)
		require.NoError(t, err)
		require.Equal(t, []uint64{n, n, 0, 0, n / 3}, []uint64{p.Total, p.Matched, p.Published, p.Skipped, p.Applied})
		require.EqualValues(t, n, streamMsgs(t, js), "a dry run publishes nothing")
		require.Equal(t, n, c.headers, "a dry run reads headers, and the check gets them")
	})
	t.Run("LargerThanOneBatch", func(t *testing.T) {
		c := &checkLog{first: 200 * time.Millisecond}
		var calls []events.ReplayProgress
		p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since},
			func(p events.ReplayProgress) { calls = append(calls, p) })
		require.NoError(t, err)
		require.Equal(t, []uint64{n, n - n/3, 0, n / 3, 1, n}, []uint64{p.Matched, p.Published, p.Skipped, p.Applied, p.FirstSeq, p.LastSeq})
		all, largest := c.seqs()
		require.Equal(t, seqRange(1, n), all, "each message checked once, in order")
		require.Equal(t, 1000, largest, "a batch fills up to its bound while the check before it runs, and no further")
		require.Len(t, calls, len(c.batches), "progress after each batch")
		require.Equal(t, unapplied(1, n), replayedOf(t, js, n), "exactly the unapplied ones, each once")
	})
	t.Run("ToSeqMidBatch", func(t *testing.T) {
		before := streamMsgs(t, js)
		c := &checkLog{first: 200 * time.Millisecond}
		p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since, ToSeq: 1500}, nil)
		require.NoError(t, err)
		require.Equal(t, []uint64{1500, 1000, 500, 1500}, []uint64{p.Matched, p.Published, p.Applied, p.LastSeq})
		all, _ := c.seqs()
		require.Equal(t, seqRange(1, 1500), all, "the range ends at to_seq, within a batch")
		require.Equal(t, unapplied(1, 1500), replayedOf(t, js, before))
	})
	t.Run("SkippedAreNotChecked", func(t *testing.T) {
		before := streamMsgs(t, js)
		c := &checkLog{}
		p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since}, nil)
		require.NoError(t, err, "the check refuses a replay's copy")
		require.Equal(t, []uint64{before, n - n/3, before - n, n / 3}, []uint64{p.Matched, p.Published, p.Skipped, p.Applied})
		all, _ := c.seqs()
		require.Equal(t, seqRange(1, n), all)
	})
}

// TestReplayCheckFails: an error of the check stops the replay with that
// error; the progress counts the batches before, which alone were
// published.
func TestReplayCheckFails(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	since := time.Now().Add(-time.Second)
	const n = 1200
	publishN(t, js, n)

	c := &checkLog{first: 100 * time.Millisecond, failOn: 2}
	p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since}, nil)
	require.ErrorIs(t, err, errCheck)
	first := c.batches[0]
	last := first[len(first)-1]
	require.Less(t, last, uint64(n), "the check failed before the end")
	require.Equal(t, []uint64{uint64(len(first)), last, last - last/3, last / 3}, []uint64{p.Matched, p.LastSeq, p.Published, p.Applied},
		"how far it got: the first batch")
	require.Equal(t, unapplied(1, last), replayedOf(t, js, n), "nothing of the failed batch was published")

	wrong := func(_ context.Context, _ string, msgs []events.ReplayCandidate) ([]bool, error) {
		return make([]bool, len(msgs)+1), nil
	}
	_, err = events.NewReplayer(js, wrong).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since, DryRun: true}, nil)
	require.ErrorContains(t, err, "answers for", "a check must answer each message")
}

// TestReplayBatchBytes: a batch also ends at 8 MiB of data, so a replay
// of large messages holds a bounded amount of them.
func TestReplayBatchBytes(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	since := time.Now().Add(-time.Second)
	body := make([]byte, 900<<10)
	for i := 1; i <= 25; i++ {
		_, err := js.Publish(ctx, "cmd.a.t1", body, jetstream.WithMsgID("m"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	c := &checkLog{first: 200 * time.Millisecond}
	p, err := events.NewReplayer(js, c.applied).Replay(ctx, events.ReplaySpec{Stream: events.StreamCommands, Since: since}, nil)
	require.NoError(t, err)
	require.EqualValues(t, 25, p.Matched)
	all, largest := c.seqs()
	require.Equal(t, seqRange(1, 25), all)
	require.Equal(t, 10, largest, "ten messages of 900 KiB reach 8 MiB; a batch stops there")
}
