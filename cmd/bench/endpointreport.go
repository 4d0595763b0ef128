package main

import (
	"fmt"
	"strings"
	"time"
)

// The project's goal for published endpoints: the trivial handler at
// this share of the bare handler's req/s, with this p99.
const (
	endpointGoal = 0.3
	endpointP99  = 10 * time.Millisecond
)

func endpointFigures(cfg config) []measurement {
	return []measurement{
		{fmt.Sprintf("**published endpoint, trivial handler** (%d clients)", cfg.EndpointConc), func(r *round) *stat { return &r.Endpoint.Trivial }},
		{fmt.Sprintf("**published endpoint, realistic handler** (JSON body, %d warehouse rows, JSON answer)", endpointRows),
			func(r *round) *stat { return &r.Endpoint.Realistic }},
		{"bare net/http handler → 200 (same client, its own loopback listener)", func(r *round) *stat { return &r.Endpoint.Bare }},
		{"bare net/http handler relaying the body over NATS request/reply to a responder → 200", func(r *round) *stat { return &r.Endpoint.Relay }},
	}
}

// writeEndpoints is the published endpoints next to the bare handler,
// medians across rounds, and the goal.
func writeEndpoints(w *strings.Builder, cfg config, rounds []round) {
	figs := endpointFigures(cfg)
	fmt.Fprintf(w, "\n### Published endpoints next to a bare handler (medians)\n\n"+
		"%d clients in a closed loop, each on a keep-alive connection of its own, POST the same small JSON body: "+
		"for %s to each endpoint (auth public), for %s to the bare handler alone and relaying over NATS. *share* is the "+
		"throughput's share of the bare handler's.\n\n", cfg.EndpointConc, cfg.EndpointDur, cfg.BaselineDur)
	writeStats(w, rounds, figs, figs[2].get)
	t, bare := medianStat(rounds, figs[0].get), medianStat(rounds, figs[2].get)
	fmt.Fprintf(w, "\nGoal: the trivial handler at ≥ %s of the bare handler's req/s, with p99 ≤ %s. Measured (medians of rounds): "+
		"%s of the req/s — %s; p99 %s — %s.\n", percent(endpointGoal, 1), ms(endpointP99),
		percent(t.Rate, bare.Rate), metOrNot(t.Rate >= endpointGoal*bare.Rate), ms(t.P99), metOrNot(t.P99 <= endpointP99))
}

// writeEndpointRounds is the published endpoints in every round.
func writeEndpointRounds(w *strings.Builder, cfg config, rounds []round) {
	writeStatRounds(w, "Published endpoints", rounds, endpointFigures(cfg))
}
