package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/cmd/internal/env"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/store"
)

// connectNATS connects the CLI to NATS_URL.
func connectNATS() (*nats.Conn, jetstream.JetStream, error) {
	return events.Connect(env.Get("NATS_URL", "nats://127.0.0.1:4222"), "tenantry-cli")
}

// timeFlag reads an RFC 3339 time, or a duration meaning that long ago
// (2h, 90m).
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f timeFlag) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		*f.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-01-02T15:04:05Z, or a duration ago such as 2h")
	}
	*f.t = t
	return nil
}

func replay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var spec events.ReplaySpec
	fs.StringVar(&spec.Stream, "stream", "", "COMMANDS, EVENTS or WEBHOOKS (required)")
	fs.StringVar(&spec.Subject, "subject", "", "subject filter, e.g. hook.> (default: the whole stream)")
	fs.Var(timeFlag{&spec.Since}, "since", "replay messages stored since (RFC 3339, or e.g. 2h ago; required)")
	fs.Var(timeFlag{&spec.Until}, "until", "and before (RFC 3339, or a duration ago)")
	fs.Uint64Var(&spec.ToSeq, "to-seq", 0, "and up to this stream sequence (default: the last message now)")
	fs.BoolVar(&spec.DryRun, "dry-run", false, "count what would be replayed and what was applied, publish nothing")
	fs.IntVar(&spec.Rate, "rate", 0, "publish at most this many messages a second (default: as fast as JetStream takes them)")
	fs.StringVar(&spec.ID, "id", "", "the replay's id (default: a fresh one); the same id again publishes nothing twice")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec.Stream = strings.ToUpper(spec.Stream)
	nc, js, err := connectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	applied, closeDB, err := replayCheck(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	bar := newProgressBar(os.Stderr)
	p, err := events.NewReplayer(js, applied).Replay(ctx, spec, bar.show)
	bar.done()
	if err != nil {
		return fmt.Errorf("replay stopped after %d of %d: %s", p.Matched, p.Total, errText(err))
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(p)
	}
	verb := "replayed"
	if p.DryRun {
		verb = "would replay"
	}
	fmt.Printf("replay %s: %s %d of %d matching messages (seq %d–%d), %d already applied, skipped %d earlier replays\n",
		p.ID, verb, p.Matched-p.Skipped-p.Applied, p.Matched, p.FirstSeq, p.LastSeq, p.Applied, p.Skipped)
	return nil
}

// replayCheck opens Postgres at DATABASE_URL to tell the replay which
// messages were already applied for good (node.ReplayApplied), so that
// only the others are published again. Without DATABASE_URL the replay
// needs NATS alone and publishes every message again, as the workers
// skip what was applied; it says so on stderr. A DATABASE_URL that does
// not answer is an error.
func replayCheck(ctx context.Context) (events.AppliedFunc, func(), error) {
	dbURL := env.Get("DATABASE_URL", "")
	if dbURL == "" {
		fmt.Fprintln(os.Stderr, "tenantry replay: DATABASE_URL is not set: publishing every message again, "+
			"without asking Postgres which were already applied (the workers skip those)")
		return nil, func() {}, nil
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w (unset DATABASE_URL to replay without asking Postgres what was applied)", err)
	}
	return node.ReplayApplied(st), st.Close, nil
}

// errText is what the CLI says about err: the caller-safe message and
// fields of a tenantry error, the error itself otherwise.
func errText(err error) string {
	var e *tenantry.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	parts := []string{e.Message}
	for _, f := range e.Fields[min(1, len(e.Fields)):] {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// progressBar draws a replay's progress on a terminal, at most ten
// times a second; on anything else it stays quiet.
type progressBar struct {
	w     io.Writer
	tty   bool
	last  time.Time
	drawn bool
}

func newProgressBar(f *os.File) *progressBar {
	st, err := f.Stat()
	return &progressBar{w: f, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (b *progressBar) show(p events.ReplayProgress) {
	if !b.tty || time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last, b.drawn = time.Now(), true
	fmt.Fprintf(b.w, "\r%s %d/%d (published %d, applied %d, skipped %d)", bar(p.Matched, p.Total, 30), p.Matched, p.Total,
		p.Published, p.Applied, p.Skipped)
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// bar is [####......] for done of total, width characters wide.
func bar(done, total uint64, width int) string {
	n := width
	if total > 0 && done < total {
		n = int(done * uint64(width) / total)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
