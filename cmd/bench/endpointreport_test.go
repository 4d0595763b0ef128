package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteEndpoints(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	r := func(trivial float64, p99 time.Duration) round {
		return round{Endpoint: endpointRound{Trivial: stat{P50: ms, P99: p99, Rate: trivial, N: 10},
			Realistic: stat{P50: 20 * ms, P99: 40 * ms, Rate: 100}, Bare: stat{P50: ms / 2, P99: ms, Rate: 1000},
			Relay: stat{P50: ms, P99: 2 * ms, Rate: 500}}}
	}
	cfg := config{EndpointConc: 16, EndpointDur: 5 * time.Second, BaselineDur: 3 * time.Second}
	var w strings.Builder
	writeEndpoints(&w, cfg, []round{r(300, 8*ms), r(1, 80*ms), r(400, 9*ms)})
	out := w.String()
	require.Contains(t, out, "| **published endpoint, trivial handler** (16 clients) | 1.00 ms | 9.00 ms | 300 | 30% | 10 | 0 |")
	require.Contains(t, out, "| **published endpoint, realistic handler** (JSON body, 100 warehouse rows, JSON answer) | 20.0 ms | 40.0 ms | 100 | 10% |")
	require.Contains(t, out, "| bare net/http handler relaying the body over NATS request/reply to a responder → 200 | 1.00 ms | 2.00 ms | 500 | 50% |")
	require.Contains(t, out, "30% of the req/s — met; p99 9.00 ms — met.")

	w.Reset()
	writeEndpoints(&w, cfg, []round{r(299, 11*ms)})
	require.Contains(t, w.String(), "30% of the req/s — **not met**; p99 11.0 ms — **not met**.")
}
