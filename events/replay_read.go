package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// replayBatch is the next messages of a replay's range, in order.
type replayBatch struct {
	msgs  []replayMsg
	bytes int   // of the messages' data
	end   bool  // the range ends with msgs
	err   error // reading failed after msgs
}

// full reports whether b holds as much as a batch may.
func (r *replayer) full(b *replayBatch) bool {
	return len(b.msgs) >= r.batchMax || b.bytes >= replayBatchBytes
}

// replayMsg is a message in a replay's range.
type replayMsg struct {
	jetstream.Msg
	seq     uint64
	skip    bool // a replay or redrive itself
	applied bool // applied for good, per the check
}

// read reads the range into batches on out until it ends, reading fails
// or ctx ends, then closes out. A batch is handed over as soon as run
// waits for one, or else once it holds batchMax messages: reading goes
// on while run checks and publishes the batch before, and batches grow
// to what is read meanwhile.
func (r *replayer) read(ctx context.Context, out chan<- replayBatch) {
	defer close(out)
	var b replayBatch
	for {
		b.end, b.err = r.readOne(ctx, &b)
		if !b.end && b.err == nil && !r.full(&b) {
			select {
			case out <- b:
				b = replayBatch{}
			default:
			}
			continue
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if b.end || b.err != nil {
			return
		}
		b = replayBatch{}
	}
}

// readOne reads the next message and adds it to b if it is in range; end
// reports that the range is done.
func (r *replayer) readOne(ctx context.Context, b *replayBatch) (end bool, err error) {
	msg, err := r.iter.Next(jetstream.NextContext(ctx))
	if err != nil {
		return false, fmt.Errorf("replay %s: %w", r.spec.Stream, err)
	}
	md, err := msg.Metadata()
	if err != nil {
		return false, fmt.Errorf("replay %s: %w", r.spec.Stream, err)
	}
	seq := md.Sequence.Stream
	if seq > r.lastSeq || (!r.spec.Until.IsZero() && !md.Timestamp.Before(r.spec.Until)) {
		return true, nil
	}
	h := msg.Headers()
	b.msgs = append(b.msgs, replayMsg{Msg: msg, seq: seq, skip: h.Get(HeaderReplay) != "" || h.Get(HeaderRedrive) != ""})
	b.bytes += len(msg.Data())
	return md.NumPending == 0 || seq == r.lastSeq, nil
}
