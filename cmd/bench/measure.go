package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// round is one pass over every measurement.
type round struct {
	// POST /api/subaccount, with the tenant DDL.
	Accept, E2E           stat    // closed loop: the most the node sustains at -c
	PacedRate             float64 // open-loop arrivals per second: half of E2E.Rate
	PacedAccept, PacedE2E stat

	// POST /api/servers (secret_store): the same pipeline without DDL.
	ConnAccept, ConnE2E           stat    // closed loop at -c
	ConnPacedRate                 float64 // half of ConnE2E.Rate
	ConnPacedAccept, ConnPacedE2E stat
	ConnAtSubRate                 stat // end to end, open loop at PacedRate

	JS, PG, DDL stat // raw baselines, closed loop at -c

	Sync     syncRound
	Ingress  ingressRound
	Replay   replayRound
	Endpoint endpointRound
}

// syncRound is one round's syncs and their baselines, each the time to
// move every row of the fake API once.
type syncRound struct {
	Rows    int
	Insert  time.Duration // a new connection's first sync: every row new
	Update  time.Duration // a full refresh of the same connection: every row again, unchanged
	Copy    time.Duration // raw CopyFrom of the same rows, one statement
	Pages   time.Duration // raw CopyFrom, one statement and commit per page
	Write   time.Duration // the sync's write alone (store.WriteRecords), a page a transaction: every row new
	Rewrite time.Duration // the same, every row again unchanged
}

// rate is rows per second in d.
func (s syncRound) rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(s.Rows) / d.Seconds()
}

// inFlightCap bounds the open loop's concurrent requests; at half the
// closed-loop rate it is never reached unless the node stalls.
const inFlightCap = 1024

// measure warms every phase up, then runs the rounds.
func (b *bench) measure(ctx context.Context) ([]round, error) {
	if err := b.sync.api.newAccount(ctx, b.hot); err != nil {
		return nil, fmt.Errorf("the syncs' subaccount: %w", err)
	}
	if b.cfg.Warmup > 0 {
		fmt.Fprintf(os.Stderr, "bench: warming up (%s per phase)\n", b.cfg.Warmup)
		if err := b.warmUp(ctx); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	stop, err := startProfile(b.cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stop()
	rounds := make([]round, 0, b.cfg.Rounds)
	for i := range b.cfg.Rounds {
		r, err := b.round(ctx)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
		fmt.Fprintf(os.Stderr, "bench: round %d/%d: %s\n", i+1, b.cfg.Rounds, r.summary(b.cfg))
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// phase is one closed-loop measurement; into picks its place in a round.
type phase struct {
	name string
	run  op
	into func(*round) *stat
}

// phases is the two hot paths, then the raw baselines.
func (b *bench) phases() []phase {
	return []phase{
		{"subaccounts", b.hot.create, func(r *round) *stat { return &r.E2E }},
		{"connections", b.conn.create, func(r *round) *stat { return &r.ConnE2E }},
		{"JetStream publish", b.base.publish, func(r *round) *stat { return &r.JS }},
		{"Postgres UPDATE", b.base.update, func(r *round) *stat { return &r.PG }},
		{"provisioning DDL", b.base.ddl, func(r *round) *stat { return &r.DDL }},
	}
}

// round measures the sections -only picks (every one by default), in
// this order: the subaccount path, then the connection path in a
// subaccount of its own made for the round (not timed), then the
// baselines (the pipeline); then the syncs and theirs, then webhook
// ingress, replay and published endpoints, each with its own.
func (b *bench) round(ctx context.Context) (r round, err error) {
	for _, part := range []struct {
		section string
		measure func() error
	}{
		{"pipeline", func() error { return b.measurePipeline(ctx, &r) }},
		{"sync", func() (err error) { r.Sync, err = b.measureSync(ctx); return err }},
		{"ingress", func() (err error) {
			r.Ingress, err = b.measureIngress(ctx, b.cfg.IngressDur, b.cfg.BaselineDur)
			return err
		}},
		{"replay", func() (err error) { r.Replay, err = b.measureReplay(ctx); return err }},
		{"endpoints", func() (err error) {
			r.Endpoint, err = b.measureEndpoints(ctx, b.cfg.EndpointDur, b.cfg.BaselineDur)
			return err
		}},
	} {
		if !b.cfg.runs(part.section) {
			continue
		}
		if err := part.measure(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// warmUp runs each section -only picks once, briefly (the replay is not
// warmed up; the ingress warm-up serves it).
func (b *bench) warmUp(ctx context.Context) error {
	if b.cfg.runs("pipeline") {
		if err := b.conn.newAccount(ctx, b.hot); err != nil {
			return err
		}
		for _, p := range b.phases() {
			if _, err := b.runClosed(ctx, p.name, budget{d: b.cfg.Warmup}, p.run); err != nil {
				return err
			}
		}
		if err := b.base.dropRoles(ctx); err != nil {
			return err
		}
	}
	if b.cfg.runs("sync") {
		if _, err := b.measureSync(ctx); err != nil {
			return err
		}
	}
	if b.cfg.runs("ingress") || b.cfg.runs("replay") {
		if _, err := b.measureIngress(ctx, b.cfg.Warmup, b.cfg.Warmup); err != nil {
			return err
		}
	}
	if b.cfg.runs("endpoints") {
		_, err := b.measureEndpoints(ctx, b.cfg.Warmup, b.cfg.Warmup)
		return err
	}
	return nil
}

// measurePipeline measures the subaccount path, then the connection
// path in a subaccount of its own made for the round (not timed), then
// the raw baselines.
func (b *bench) measurePipeline(ctx context.Context, r *round) error {
	hot := budget{d: b.cfg.Duration, n: b.cfg.Requests}
	res, err := b.runClosed(ctx, "subaccounts, closed loop", hot, b.hot.create)
	if err != nil {
		return err
	}
	r.Accept, r.E2E = summarize(res, accepted), summarize(res, done)
	r.PacedRate = r.E2E.Rate / 2
	res, err = b.check(ctx, "subaccounts, open loop", openLoop(ctx, r.PacedRate, hot, inFlightCap, b.hot.create))
	if err != nil {
		return err
	}
	r.PacedAccept, r.PacedE2E = summarize(res, accepted), summarize(res, done)

	if err := b.conn.newAccount(ctx, b.hot); err != nil {
		return err
	}
	if res, err = b.runClosed(ctx, "connections, closed loop", hot, b.conn.create); err != nil {
		return err
	}
	r.ConnAccept, r.ConnE2E = summarize(res, accepted), summarize(res, done)
	r.ConnPacedRate = r.ConnE2E.Rate / 2
	res, err = b.check(ctx, "connections, open loop", openLoop(ctx, r.ConnPacedRate, hot, inFlightCap, b.conn.create))
	if err != nil {
		return err
	}
	r.ConnPacedAccept, r.ConnPacedE2E = summarize(res, accepted), summarize(res, done)
	res, err = b.check(ctx, "connections, open loop at the subaccounts' rate",
		openLoop(ctx, r.PacedRate, hot, inFlightCap, b.conn.create))
	if err != nil {
		return err
	}
	r.ConnAtSubRate = summarize(res, done)

	for _, p := range b.phases()[2:] {
		if res, err = b.runClosed(ctx, p.name, budget{d: b.cfg.BaselineDur}, p.run); err != nil {
			return err
		}
		*p.into(r) = summarize(res, done)
	}
	if err := b.base.dropRoles(ctx); err != nil {
		return err
	}
	return nil
}

// measureSync copies the rows raw, makes a connection to the fake API
// (not timed) and syncs it twice, then writes the rows with the sync's
// write alone. The ceiling goes first so that nothing the syncs leave
// behind (dead row versions to vacuum) slows it down.
func (b *bench) measureSync(ctx context.Context) (r syncRound, err error) {
	r.Rows = len(b.src.recs)
	if r.Copy, err = b.raw.copyAll(ctx); err != nil {
		return r, err
	}
	if r.Pages, err = b.raw.copyPages(ctx); err != nil {
		return r, err
	}
	conn, err := b.sync.connect(ctx)
	if err != nil {
		return r, err
	}
	if r.Insert, err = b.sync.sync(ctx, conn, false, r.Rows); err != nil {
		return r, fmt.Errorf("sync, every row new: %w", err)
	}
	if r.Update, err = b.sync.sync(ctx, conn, true, 0); err != nil {
		return r, fmt.Errorf("sync, full refresh of the same rows: %w", err)
	}
	r.Write, r.Rewrite, err = b.raw.writePages(ctx)
	return r, err
}

func (b *bench) runClosed(ctx context.Context, name string, bud budget, run op) (result, error) {
	return b.check(ctx, name, closedLoop(ctx, b.cfg.Concurrency, bud, run))
}

// check warns about failed operations, fails a run that completed none,
// and confirms the hot paths' jobs in Postgres (after a baseline there
// are none to check).
func (b *bench) check(ctx context.Context, name string, res result) (result, error) {
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.errs > 0 {
		fmt.Fprintf(os.Stderr, "bench: %s: %d operations failed; first: %v\n", name, res.errs, res.firstErr)
	}
	if len(res.samples) == 0 {
		return res, errors.Join(fmt.Errorf("%s: no operation completed", name), res.firstErr)
	}
	if err := b.hot.verify(ctx, b.pool); err != nil {
		return res, err
	}
	return res, b.conn.verify(ctx, b.pool)
}

// summary is one line per round of the sections measured.
func (r round) summary(cfg config) string {
	part := map[string]func() string{
		"pipeline": r.pipelineSummary, "sync": r.Sync.summary, "ingress": r.Ingress.summary,
		"replay": r.Replay.summary, "endpoints": r.Endpoint.summary,
	}
	var parts []string
	for _, section := range sections {
		if cfg.runs(section) {
			parts = append(parts, part[section]())
		}
	}
	return strings.Join(parts, "; ")
}

func (r round) pipelineSummary() string {
	return fmt.Sprintf("subaccounts e2e %s/s p50 %s p99 %s, at %s/s p50 %s p99 %s; "+
		"connections e2e %s/s p50 %s p99 %s, at %s/s p50 %s p99 %s, at %s/s p50 %s p99 %s; "+
		"js p50 %s; pg p50 %s; ddl p50 %s",
		rate(r.E2E.Rate), ms(r.E2E.P50), ms(r.E2E.P99), rate(r.PacedRate), ms(r.PacedE2E.P50), ms(r.PacedE2E.P99),
		rate(r.ConnE2E.Rate), ms(r.ConnE2E.P50), ms(r.ConnE2E.P99), rate(r.ConnPacedRate), ms(r.ConnPacedE2E.P50), ms(r.ConnPacedE2E.P99),
		rate(r.PacedRate), ms(r.ConnAtSubRate.P50), ms(r.ConnAtSubRate.P99),
		ms(r.JS.P50), ms(r.PG.P50), ms(r.DDL.P50))
}

func (s syncRound) summary() string {
	c := s.rate(s.Copy)
	return fmt.Sprintf("sync %d rows: new %s rows/s (%s of CopyFrom), unchanged %s rows/s (%s); "+
		"CopyFrom %s rows/s, per page %s rows/s; WriteRecords new %s rows/s, unchanged %s rows/s",
		s.Rows, rate(s.rate(s.Insert)), percent(s.rate(s.Insert), c), rate(s.rate(s.Update)), percent(s.rate(s.Update), c),
		rate(c), rate(s.rate(s.Pages)), rate(s.rate(s.Write)), rate(s.rate(s.Rewrite)))
}

// startProfile profiles the process (load generator and node together)
// into path, if set, until stop is called.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
