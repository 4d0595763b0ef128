package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

// ReplayCandidate is a message a replay would publish again, as its
// check sees it. A dry run reads headers only: a check must not need
// the data.
type ReplayCandidate struct {
	Seq     uint64 // stream sequence
	Subject string
	Header  nats.Header
}

// AppliedFunc reports, for each of msgs (messages of stream, in stream
// order, none of them a replay or redrive), whether its effect was
// applied for good, so that publishing it again would change nothing.
// It answers one bool per message, in order; an error stops the replay.
// A replay calls it from one goroutine, once per batch of up to 1000
// messages, while it reads the next batch.
type AppliedFunc func(ctx context.Context, stream string, msgs []ReplayCandidate) ([]bool, error)

// check marks the messages of msgs r's check reports applied; without a
// check, none is.
func (r *replayer) check(ctx context.Context, msgs []replayMsg) error {
	if r.applied == nil {
		return nil
	}
	cands, at := make([]ReplayCandidate, 0, len(msgs)), make([]int, 0, len(msgs))
	for i, m := range msgs {
		if !m.skip {
			cands, at = append(cands, ReplayCandidate{Seq: m.seq, Subject: m.Subject(), Header: m.Headers()}), append(at, i)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	applied, err := r.applied(ctx, r.spec.Stream, cands)
	if err == nil && len(applied) != len(cands) {
		err = fmt.Errorf("%d answers for %d messages", len(applied), len(cands))
	}
	if err != nil {
		return fmt.Errorf("replay %s: check sequences %d–%d: %w", r.spec.Stream, cands[0].Seq, cands[len(cands)-1].Seq, err)
	}
	for j, i := range at {
		msgs[i].applied = applied[j]
	}
	return nil
}
