package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry"
)

// DeadLetter is a message in the DLQ and why it died.
type DeadLetter struct {
	Seq        uint64              `json:"seq"`        // its sequence in the DLQ: what to show, redrive or purge
	Subject    string              `json:"subject"`    // the original subject
	Stream     string              `json:"stream"`     // the original stream
	StreamSeq  uint64              `json:"stream_seq"` // the original's sequence there
	Reason     string              `json:"reason"`     // terminated | max_deliver
	Deliveries int                 `json:"deliveries"`
	Error      string              `json:"error"`
	At         time.Time           `json:"at"` // when it was dead-lettered
	Size       int                 `json:"size"`
	Header     map[string][]string `json:"headers,omitempty"` // Get only
	Data       []byte              `json:"data,omitempty"`    // Get only
}

func deadLetter(m *jetstream.RawStreamMsg, full bool) DeadLetter {
	h := m.Header
	d := DeadLetter{Seq: m.Sequence, Subject: h.Get(HeaderDLQSubject), Stream: h.Get(HeaderDLQStream),
		Reason: h.Get(HeaderDLQReason), Error: h.Get(HeaderDLQError), At: m.Time, Size: len(m.Data)}
	if d.Subject == "" {
		d.Subject = strings.TrimPrefix(m.Subject, "dlq.")
	}
	d.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderDLQSequence), 10, 64)
	d.Deliveries, _ = strconv.Atoi(h.Get(HeaderDLQDeliveries))
	if full {
		d.Header, d.Data = h, m.Data
	}
	return d
}

// DeadLetters inspects and empties the DLQ stream. Safe for concurrent
// use.
type DeadLetters struct {
	js jetstream.JetStream
}

// NewDeadLetters returns the DLQ operations over js.
func NewDeadLetters(js jetstream.JetStream) *DeadLetters { return &DeadLetters{js: js} }

// DLQFilter selects dead letters to list: those whose original subject
// matches Subject (a filter such as cmd.>; default all), after DLQ
// sequence After, at most Limit (default 50).
type DLQFilter struct {
	Subject string
	After   uint64
	Limit   int
}

// filterSubject is the DLQ subject filter for an original-subject filter.
func filterSubject(subject string) string {
	if subject == "" {
		return "dlq.>"
	}
	return "dlq." + subject
}

// List returns the dead letters f selects, oldest first, without their
// data, and the sequence to pass as After for the next page (0 when
// there is none). EINVALID names a malformed subject filter.
func (d *DeadLetters) List(ctx context.Context, f DLQFilter) ([]DeadLetter, uint64, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Subject != "" && !ValidFilter(f.Subject) {
		return nil, 0, tenantry.Invalid(tenantry.FieldError{Field: "subject", Message: filterHint})
	}
	var out []DeadLetter
	err := d.each(ctx, f.Subject, f.After+1, func(m *jetstream.RawStreamMsg) bool {
		out = append(out, deadLetter(m, false))
		return len(out) <= f.Limit
	})
	if err != nil || len(out) <= f.Limit {
		return out, 0, err
	}
	out = out[:f.Limit]
	return out, out[f.Limit-1].Seq, nil
}

// each calls fn on every DLQ message matching subject from sequence from
// on, in order, until fn returns false. It reads the stream directly,
// creating no consumer, and stops at the last message present when it
// started.
func (d *DeadLetters) each(ctx context.Context, subject string, from uint64, fn func(*jetstream.RawStreamMsg) bool) error {
	s, err := d.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	last := s.CachedInfo().State.LastSeq
	for seq := max(from, 1); seq <= last; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filterSubject(subject)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dlq: read from %d: %w", seq, err)
		}
		if m.Sequence > last || !fn(m) {
			return nil
		}
		seq = m.Sequence + 1
	}
	return nil
}

// Get returns dead letter seq with its headers and data. ENOTFOUND if the
// DLQ has no such message.
func (d *DeadLetters) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	if seq == 0 { // JetStream refuses it as a bad request; no message has it
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "dead letter 0 not found")
	}
	s, err := d.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "dead letter %d not found", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("dlq: get %d: %w", seq, err)
	}
	dl := deadLetter(m, true)
	return &dl, nil
}

// DLQSelect names dead letters to redrive or purge: the sequences Seqs,
// or every one whose original subject matches Subject, or, with All,
// every one. Exactly one of the three must be given.
type DLQSelect struct {
	Seqs    []uint64 `json:"seqs"`
	Subject string   `json:"subject"`
	All     bool     `json:"all"`
}

func (sel DLQSelect) validate() error {
	n := 0
	for _, given := range []bool{len(sel.Seqs) > 0, sel.Subject != "", sel.All} {
		if given {
			n++
		}
	}
	if n != 1 {
		return tenantry.Invalid(tenantry.FieldError{Field: "seqs", Message: "give exactly one of seqs, subject or all"})
	}
	if sel.Subject != "" && !ValidFilter(sel.Subject) {
		return tenantry.Invalid(tenantry.FieldError{Field: "subject", Message: filterHint})
	}
	return nil
}

// seqs resolves sel to DLQ sequences, oldest first.
func (d *DeadLetters) seqs(ctx context.Context, sel DLQSelect) ([]uint64, error) {
	if len(sel.Seqs) > 0 {
		return sel.Seqs, nil
	}
	var out []uint64
	err := d.each(ctx, sel.Subject, 1, func(m *jetstream.RawStreamMsg) bool {
		out = append(out, m.Sequence)
		return true
	})
	return out, err
}

// Redrive publishes the dead letters sel names back to their original
// subjects, marked with HeaderRedrive, and removes them from the DLQ. The
// republish's Nats-Msg-Id is derived from the DLQ sequence, so a redrive
// interrupted between publishing and removing publishes once when run
// again. Consumers treat a redriven message as a replay: what succeeded
// meanwhile is not applied again. It returns how many it redrove;
// EINVALID for a bad selection, ENOTFOUND for a sequence not in the DLQ
// (those before it were redriven).
func (d *DeadLetters) Redrive(ctx context.Context, sel DLQSelect) (int, error) {
	if err := sel.validate(); err != nil {
		return 0, err
	}
	seqs, err := d.seqs(ctx, sel)
	if err != nil {
		return 0, err
	}
	for i, seq := range seqs {
		if err := d.redrive(ctx, seq); err != nil {
			return i, err
		}
	}
	return len(seqs), nil
}

func (d *DeadLetters) redrive(ctx context.Context, seq uint64) error {
	dl, err := d.Get(ctx, seq)
	if err != nil {
		return err
	}
	h := nats.Header{}
	for k, v := range dl.Header {
		if k != nats.MsgIdHdr && !strings.HasPrefix(k, "Tenantry-Dlq-") {
			h[k] = v
		}
	}
	h.Set(HeaderRedrive, strconv.FormatUint(seq, 10))
	id := "redrive-" + StreamDLQ + "-" + strconv.FormatUint(seq, 10)
	if _, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: dl.Subject, Header: h, Data: dl.Data}, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("dlq: redrive %d to %s: %w", seq, dl.Subject, err)
	}
	return d.delete(ctx, seq)
}

func (d *DeadLetters) delete(ctx context.Context, seq uint64) error {
	s, err := d.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("dlq: delete %d: %w", seq, err)
	}
	return nil
}

// Purge deletes the dead letters sel names, for good, and returns how
// many (for a subject or all: how many fewer the DLQ holds, which
// messages dead-lettered meanwhile make smaller). EINVALID for a bad
// selection; ENOTFOUND for a sequence not in the DLQ (those before it
// were purged).
func (d *DeadLetters) Purge(ctx context.Context, sel DLQSelect) (uint64, error) {
	if err := sel.validate(); err != nil {
		return 0, err
	}
	if len(sel.Seqs) > 0 {
		for i, seq := range sel.Seqs {
			if _, err := d.Get(ctx, seq); err != nil {
				return uint64(i), err
			}
			if err := d.delete(ctx, seq); err != nil {
				return uint64(i), err
			}
		}
		return uint64(len(sel.Seqs)), nil
	}
	s, err := d.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return 0, fmt.Errorf("dlq: %w", err)
	}
	before := s.CachedInfo().State.Msgs
	var opts []jetstream.StreamPurgeOpt
	if sel.Subject != "" {
		opts = append(opts, jetstream.WithPurgeSubject(filterSubject(sel.Subject)))
	}
	if err := s.Purge(ctx, opts...); err != nil {
		return 0, fmt.Errorf("dlq: purge: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("dlq: %w", err)
	}
	return before - info.State.Msgs, nil
}
