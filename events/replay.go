package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry"
)

// Headers marking a message an operator published again.
const (
	HeaderReplay   = "Tenantry-Replay"    // the replay run's id
	HeaderReplayOf = "Tenantry-Replay-Of" // "<stream>:<sequence>" of the original
	HeaderRedrive  = "Tenantry-Redrive"   // the DLQ sequence it was redriven from
)

// Replayed reports whether m was published again by a replay or a DLQ
// redrive. Consumers process such messages like any redelivery (what
// succeeded is not applied again), but may run again work that failed
// for good: that is what an operator replays for, after a fix.
func Replayed(m *Msg) bool {
	return m.Header.Get(HeaderReplay) != "" || m.Header.Get(HeaderRedrive) != ""
}

// ReplayableStreams are the streams Replay accepts; the DLQ is redriven
// instead (DeadLetters.Redrive).
var ReplayableStreams = []string{StreamCommands, StreamEvents, StreamWebhooks}

// ReplaySpec says what to replay: the messages of Stream whose subject
// matches Subject, stored at or after Since, and before Until or up to
// stream sequence ToSeq (at most one of the two; with neither, up to the
// last message when the replay starts).
type ReplaySpec struct {
	Stream  string    `json:"stream"`
	Subject string    `json:"subject"` // a filter such as hook.>; default every subject of the stream
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	ToSeq   uint64    `json:"to_seq"`
	DryRun  bool      `json:"dry_run"` // count what would be replayed, publish nothing
	Rate    int       `json:"rate"`    // at most this many messages a second; 0: as fast as JetStream takes them
	// ID names the run; default a fresh one. Replayed messages carry it,
	// and their Nats-Msg-Id is "replay-<ID>-<sequence>", so running the
	// same ID again within the duplicate window publishes nothing twice.
	ID string `json:"id"`
}

// validate checks s and fills its defaults.
func (s *ReplaySpec) validate() error {
	var errs []tenantry.FieldError
	add := func(f, m string) { errs = append(errs, tenantry.FieldError{Field: f, Message: m}) }
	if !slices.Contains(ReplayableStreams, s.Stream) {
		add("stream", "must be COMMANDS, EVENTS or WEBHOOKS (the DLQ is redriven, not replayed)")
	}
	if s.Subject != "" && !ValidFilter(s.Subject) {
		add("subject", filterHint)
	}
	if s.Since.IsZero() {
		add("since", "is required: an RFC 3339 time")
	}
	if !s.Until.IsZero() && s.ToSeq != 0 {
		add("until", "give until or to_seq, not both")
	}
	if !s.Until.IsZero() && !s.Until.After(s.Since) {
		add("until", "must be after since")
	}
	if s.Rate < 0 {
		add("rate", "must not be negative")
	}
	if s.ID == "" {
		s.ID = uuid.Must(uuid.NewV7()).String()
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	return nil
}

const filterHint = "must be a NATS subject filter such as hook.> or cmd.*.sub_1: dot-separated tokens, * for one token, > for the rest"

// ValidFilter reports whether f is a NATS subject filter: non-empty
// tokens separated by dots, without spaces, where * stands for one
// whole token and > for the rest, last.
func ValidFilter(f string) bool {
	tokens := strings.Split(f, ".")
	for i, t := range tokens {
		switch {
		case t == "" || strings.ContainsAny(t, " \t\r\n\x00"):
			return false
		case t == ">" && i != len(tokens)-1:
			return false
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return false
		}
	}
	return len(f) <= 256
}

// ReplayProgress counts a replay's messages so far.
type ReplayProgress struct {
	ID string `json:"id"`
	// Total is how many messages matched the filter from Since on when
	// the replay started: an upper bound when Until or ToSeq ends it
	// earlier.
	Total     uint64 `json:"total"`
	Matched   uint64 `json:"matched"`   // in range, replays or not
	Published uint64 `json:"published"` // published again (0 on a dry run)
	Skipped   uint64 `json:"skipped"`   // themselves replays or redrives: their originals are in range
	FirstSeq  uint64 `json:"first_seq"`
	LastSeq   uint64 `json:"last_seq"`
	DryRun    bool   `json:"dry_run"`
}

// Replay publishes again, each to its own subject, the messages spec
// selects, marked with HeaderReplay and HeaderReplayOf, so they run
// through the same consumers as the originals. Consumers process
// commands and webhooks idempotently, so a message replayed twice is
// applied once. Messages that are themselves replays or redrives are
// skipped. progress, if not nil, is called after each message, from
// Replay's goroutine. Replay returns when the range is done, or on the
// first publish JetStream refuses, or when ctx ends; the progress says
// how far it got. EINVALID names a bad spec field.
func Replay(ctx context.Context, js jetstream.JetStream, spec ReplaySpec, progress func(ReplayProgress)) (ReplayProgress, error) {
	p := ReplayProgress{DryRun: spec.DryRun}
	if err := spec.validate(); err != nil {
		return p, err
	}
	p.ID = spec.ID
	r, err := newReplayer(ctx, js, spec)
	if err != nil {
		return p, err
	}
	defer r.close()
	p.Total = r.total
	if p.Total == 0 {
		return p, nil
	}
	return r.run(ctx, p, progress)
}

// replayer reads a replay's range with an ordered consumer and
// publishes it with a window of asynchronous publishes.
type replayer struct {
	js      jetstream.JetStream
	spec    ReplaySpec
	iter    jetstream.MessagesContext
	total   uint64
	lastSeq uint64 // the end of the range: ToSeq, or the stream's last message at start
	pending []jetstream.PubAckFuture
}

// window bounds the publishes awaiting JetStream's acknowledgement.
const window = 256

func newReplayer(ctx context.Context, js jetstream.JetStream, spec ReplaySpec) (*replayer, error) {
	stream, err := js.Stream(ctx, spec.Stream)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", spec.Stream, err)
	}
	r := &replayer{js: js, spec: spec, lastSeq: stream.CachedInfo().State.LastSeq}
	if spec.ToSeq != 0 {
		r.lastSeq = min(r.lastSeq, spec.ToSeq)
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
		if r.iter, err = cons.Messages(jetstream.PullMaxMessages(window)); err != nil {
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

func (r *replayer) run(ctx context.Context, p ReplayProgress, progress func(ReplayProgress)) (ReplayProgress, error) {
	start := time.Now()
	for {
		msg, err := r.iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return p, errors.Join(fmt.Errorf("replay %s: %w", r.spec.Stream, err), r.flush(ctx))
		}
		md, err := msg.Metadata()
		if err != nil {
			return p, fmt.Errorf("replay %s: %w", r.spec.Stream, err)
		}
		seq := md.Sequence.Stream
		if seq > r.lastSeq || (!r.spec.Until.IsZero() && !md.Timestamp.Before(r.spec.Until)) {
			return p, r.flush(ctx)
		}
		if p.FirstSeq == 0 {
			p.FirstSeq = seq
		}
		p.Matched, p.LastSeq = p.Matched+1, seq
		if err := r.one(ctx, msg, seq, &p); err != nil {
			return p, err
		}
		if progress != nil {
			progress(p)
		}
		if md.NumPending == 0 || seq == r.lastSeq {
			return p, r.flush(ctx)
		}
		r.pace(ctx, start, p.Matched)
	}
}

// one publishes msg again unless it is a replay itself or the run is dry.
func (r *replayer) one(ctx context.Context, msg jetstream.Msg, seq uint64, p *ReplayProgress) error {
	h := msg.Headers()
	switch {
	case h.Get(HeaderReplay) != "" || h.Get(HeaderRedrive) != "":
		p.Skipped++
		return nil
	case r.spec.DryRun:
		return nil
	}
	out := &nats.Msg{Subject: msg.Subject(), Data: msg.Data(), Header: nats.Header{}}
	for k, v := range h {
		if k != nats.MsgIdHdr {
			out.Header[k] = v
		}
	}
	out.Header.Set(HeaderReplay, r.spec.ID)
	out.Header.Set(HeaderReplayOf, r.spec.Stream+":"+strconv.FormatUint(seq, 10))
	f, err := r.js.PublishMsgAsync(out, jetstream.WithMsgID("replay-"+r.spec.ID+"-"+strconv.FormatUint(seq, 10)))
	if err != nil {
		return fmt.Errorf("replay %s seq %d: %w", r.spec.Stream, seq, err)
	}
	p.Published++
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

// pace sleeps so that n messages take at least n/Rate seconds.
func (r *replayer) pace(ctx context.Context, start time.Time, n uint64) {
	if r.spec.Rate <= 0 {
		return
	}
	due := start.Add(time.Duration(float64(n) / float64(r.spec.Rate) * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// Replayer runs replays over one JetStream connection, for callers that
// should not hold the connection themselves (the admin API). Safe for
// concurrent use.
type Replayer struct {
	js jetstream.JetStream
}

// NewReplayer returns a Replayer over js.
func NewReplayer(js jetstream.JetStream) *Replayer { return &Replayer{js: js} }

// Replay runs Replay with r's connection.
func (r *Replayer) Replay(ctx context.Context, spec ReplaySpec, progress func(ReplayProgress)) (ReplayProgress, error) {
	return Replay(ctx, r.js, spec, progress)
}
