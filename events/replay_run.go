package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// replayer is one replay run: a goroutine reads the range with an
// ordered consumer into batches (replay_read.go) while run checks the
// batch before and publishes it again with a window of asynchronous
// publishes.
type replayer struct {
	js       jetstream.JetStream
	spec     ReplaySpec
	applied  AppliedFunc
	iter     jetstream.MessagesContext
	total    uint64
	lastSeq  uint64 // the end of the range: ToSeq, or the stream's last message at start
	batchMax int    // messages read ahead into one batch
	pending  []jetstream.PubAckFuture
}

// window bounds the publishes awaiting JetStream's acknowledgement.
const window = 256

// Bounds of what a replay holds: a batch is at most replayBatchMax
// messages or replayBatchBytes of data (the messages read ahead of the
// batch being checked and published, and given to the check at once),
// and the ordered consumer buffers as many messages as make about
// replayBufferBytes at the stream's average message size (at least 32,
// at most replayBatchMax): a count, as nats.go pulls faster by count
// than by bytes, sized so that large messages are buffered by tens.
const (
	replayBatchMax    = 1000
	replayBatchBytes  = 8 << 20
	replayBufferBytes = 16 << 20
)

func newReplayer(ctx context.Context, js jetstream.JetStream, spec ReplaySpec, applied AppliedFunc) (*replayer, error) {
	stream, err := js.Stream(ctx, spec.Stream)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", spec.Stream, err)
	}
	state := stream.CachedInfo().State
	r := &replayer{js: js, spec: spec, applied: applied, lastSeq: state.LastSeq, batchMax: replayBatchMax}
	if spec.ToSeq != 0 {
		r.lastSeq = min(r.lastSeq, spec.ToSeq)
	}
	if spec.Rate > 0 {
		// A paced run reports progress at least about once a second.
		r.batchMax = min(replayBatchMax, spec.Rate)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &spec.Since,
		HeadersOnly: spec.DryRun}
	if spec.Subject != "" {
		cfg.FilterSubjects = []string{spec.Subject}
	}
	cons, err := js.OrderedConsumer(ctx, spec.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("replay %s %s: %w", spec.Stream, spec.Subject, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("replay %s: consumer info: %w", spec.Stream, err)
	}
	r.total = info.NumPending
	if r.total > 0 {
		// Pulling a batch's worth keeps the reader ahead of the check.
		if r.iter, err = cons.Messages(jetstream.PullMaxMessages(pullMessages(state))); err != nil {
			return nil, fmt.Errorf("replay %s: %w", spec.Stream, err)
		}
	}
	return r, nil
}

func (r *replayer) close() {
	if r.iter != nil {
		r.iter.Stop()
	}
}

// run takes the batches the reading goroutine hands over, in order,
// until the range ends or something fails; it stops and waits for that
// goroutine before returning.
func (r *replayer) run(ctx context.Context, p ReplayProgress, progress func(ReplayProgress)) (ReplayProgress, error) {
	ctx, cancel := context.WithCancel(ctx)
	batches, done := make(chan replayBatch), make(chan struct{})
	go func() {
		defer close(done)
		r.read(ctx, batches)
	}()
	defer func() {
		cancel()
		<-done
	}()
	start := time.Now()
	for {
		var b replayBatch
		var ok bool
		select {
		case b, ok = <-batches:
		case <-ctx.Done():
		}
		if !ok { // ctx ended: the reader gave up
			return p, errors.Join(fmt.Errorf("replay %s: %w", r.spec.Stream, ctx.Err()), r.flush(ctx))
		}
		if err := r.batch(ctx, b.msgs, &p, start); err != nil {
			return p, errors.Join(err, r.flush(ctx))
		}
		if progress != nil && len(b.msgs) > 0 {
			progress(p)
		}
		if b.end || b.err != nil {
			return p, errors.Join(b.err, r.flush(ctx))
		}
	}
}

// batch asks the check about msgs, then counts each in p and publishes
// again those neither skipped nor applied. On an error p counts the
// messages before the one that failed; on the check's, none of msgs.
func (r *replayer) batch(ctx context.Context, msgs []replayMsg, p *ReplayProgress, start time.Time) error {
	if err := r.check(ctx, msgs); err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		if !m.skip && !m.applied {
			if err := r.pace(ctx, start, p.Matched-p.Skipped-p.Applied); err != nil {
				return err
			}
			if !r.spec.DryRun {
				if err := r.publish(ctx, m); err != nil {
					return err
				}
				p.Published++
			}
		}
		if p.FirstSeq == 0 {
			p.FirstSeq = m.seq
		}
		p.Matched, p.LastSeq = p.Matched+1, m.seq
		switch {
		case m.skip:
			p.Skipped++
		case m.applied:
			p.Applied++
		}
	}
	return nil
}

// publish publishes m again, marked as this replay's copy of it.
func (r *replayer) publish(ctx context.Context, m *replayMsg) error {
	out := &nats.Msg{Subject: m.Subject(), Data: m.Data(), Header: nats.Header{}}
	for k, v := range m.Headers() {
		if k != nats.MsgIdHdr {
			out.Header[k] = v
		}
	}
	seq := strconv.FormatUint(m.seq, 10)
	out.Header.Set(HeaderReplay, r.spec.ID)
	out.Header.Set(HeaderReplayOf, r.spec.Stream+":"+seq)
	f, err := r.js.PublishMsgAsync(out, jetstream.WithMsgID("replay-"+r.spec.ID+"-"+seq))
	if err != nil {
		return fmt.Errorf("replay %s seq %d: %w", r.spec.Stream, m.seq, err)
	}
	if r.pending = append(r.pending, f); len(r.pending) >= window {
		return r.flush(ctx)
	}
	return nil
}

// flush waits until JetStream has acknowledged every pending publish.
func (r *replayer) flush(ctx context.Context) error {
	defer func() { r.pending = r.pending[:0] }()
	for _, f := range r.pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("replay %s: publish: %w", r.spec.Stream, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// pace waits, before the next message is published, until the n
// published before it have taken at least n/Rate seconds since start.
func (r *replayer) pace(ctx context.Context, start time.Time, n uint64) error {
	if r.spec.Rate <= 0 || n == 0 {
		return nil
	}
	due := start.Add(time.Duration(float64(n) / float64(r.spec.Rate) * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("replay %s: %w", r.spec.Stream, ctx.Err())
	case <-t.C:
		return nil
	}
}

// pullMessages is how many messages a replay of stream state buffers:
// about replayBufferBytes' worth at its average message size.
func pullMessages(state jetstream.StreamState) int {
	if state.Msgs == 0 {
		return replayBatchMax
	}
	return int(min(max(replayBufferBytes/(state.Bytes/state.Msgs+1), 32), replayBatchMax))
}
