package events

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
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
	// Rate paces publishing: at most this many messages a second (on a
	// dry run, counted as if published); skipped and applied messages
	// take no time of it. 0: as fast as JetStream takes them.
	Rate int `json:"rate"`
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

// ReplayProgress counts a replay's messages so far. Every matched
// message is skipped, applied or published (on a dry run, would be).
type ReplayProgress struct {
	ID string `json:"id"`
	// Total is how many messages matched the filter from Since on when
	// the replay started: an upper bound when Until or ToSeq ends it
	// earlier.
	Total     uint64 `json:"total"`
	Matched   uint64 `json:"matched"`   // in range, replays or not
	Published uint64 `json:"published"` // published again (0 on a dry run)
	Skipped   uint64 `json:"skipped"`   // themselves replays or redrives: their originals are in range
	Applied   uint64 `json:"applied"`   // applied for good already, per the Replayer's check: not published
	FirstSeq  uint64 `json:"first_seq"`
	LastSeq   uint64 `json:"last_seq"`
	DryRun    bool   `json:"dry_run"`
}

// Replay is a Replayer over js without a check: it publishes again every
// message spec selects but replays and redrives.
func Replay(ctx context.Context, js jetstream.JetStream, spec ReplaySpec, progress func(ReplayProgress)) (ReplayProgress, error) {
	return NewReplayer(js, nil).Replay(ctx, spec, progress)
}

// Replayer runs replays over one JetStream connection, for callers that
// should not hold the connection themselves (the admin API). Safe for
// concurrent use.
type Replayer struct {
	js      jetstream.JetStream
	applied AppliedFunc
}

// NewReplayer returns a Replayer over js. applied, if not nil, is asked
// which messages were already applied for good, so that they are not
// published again.
func NewReplayer(js jetstream.JetStream, applied AppliedFunc) *Replayer {
	return &Replayer{js: js, applied: applied}
}

// Replay publishes again, each to its own subject, the messages spec
// selects, marked with HeaderReplay and HeaderReplayOf, so they run
// through the same consumers as the originals. Consumers process
// commands and webhooks idempotently, so a message replayed twice is
// applied once. Messages that are themselves replays or redrives are
// skipped, and those r's check reports applied are counted and not
// published. Messages are read ahead in batches of up to 1000, each
// checked at once while the next is read. progress, if not nil, is
// called after each batch, from Replay's goroutine. Replay returns when
// the range is done, or on the first publish JetStream refuses or the
// first error of the check, or when ctx ends; the progress says how far
// it got. EINVALID names a bad spec field.
func (r *Replayer) Replay(ctx context.Context, spec ReplaySpec, progress func(ReplayProgress)) (ReplayProgress, error) {
	p := ReplayProgress{DryRun: spec.DryRun}
	if err := spec.validate(); err != nil {
		return p, err
	}
	p.ID = spec.ID
	run, err := newReplayer(ctx, r.js, spec, r.applied)
	if err != nil {
		return p, err
	}
	defer run.close()
	p.Total = run.total
	if p.Total == 0 {
		return p, nil
	}
	return run.run(ctx, p, progress)
}
