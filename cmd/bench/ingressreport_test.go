package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteIngress(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	r := func(alone, hook float64) round {
		return round{Ingress: ingressRound{Alone: stat{P50: ms, P99: 5 * ms, Rate: alone, N: 200}, AloneDrain: 3 * time.Second,
			Hook: stat{P50: 2 * ms, P99: 9 * ms, Rate: hook, N: 100}, Drain: time.Second,
			Bare: stat{P50: ms, P99: 3 * ms, Rate: 3000}, JS: stat{P50: ms, P99: 2 * ms, Rate: 2000}}}
	}
	cfg := config{IngressConc: 64, IngressDur: 5 * time.Second, BaselineDur: 3 * time.Second}
	// The median round, not the mean, sets each figure.
	rounds := []round{r(1000, 800), r(1, 1), r(1200, 900)}
	var w strings.Builder
	writeIngress(&w, cfg, rounds)
	out := w.String()
	require.Contains(t, out, "64 clients in a closed loop")
	require.Contains(t, out, "| **POST /hooks/account/{token} → 202, the API alone** (webhook ingress, 64 clients; the worker's consumer paused) | 1.00 ms | 5.00 ms | 1000 | 50% | 200 | 0 |")
	require.Contains(t, out, "| **POST /hooks/account/{token} → 202, the worker processing meanwhile** (on the same 2 CPUs) | 2.00 ms | 9.00 ms | 800 | 40% | 100 | 0 |")
	require.Contains(t, out, "| bare net/http handler → 202 (same client, its own loopback listener) | 1.00 ms | 3.00 ms | 3000 | 150% |")
	require.Contains(t, out, "it caught up in 3.00 s; while processing during the other run, it was done 1.00 s after")
	require.Contains(t, out, "- the API alone: 1000/s of 2000/s, 50% — met.")
	require.Contains(t, out, "- the worker processing meanwhile: 800/s of 2000/s, 40% — **not met**.")

	w.Reset()
	writeIngress(&w, cfg, []round{r(999, 1000)})
	require.Contains(t, w.String(), "- the API alone: 999/s of 2000/s, 50% — **not met**.")
	require.Contains(t, w.String(), "- the worker processing meanwhile: 1000/s of 2000/s, 50% — met.")

	w.Reset()
	writeIngressRounds(&w, cfg, rounds)
	require.Contains(t, w.String(), "| **POST /hooks/account/{token} → 202, the worker processing meanwhile** (on the same 2 CPUs) | 2.00 ms / 9.00 ms, 800/s | 2.00 ms / 9.00 ms, 1.0/s | 2.00 ms / 9.00 ms, 900/s |")
	require.Contains(t, w.String(), "| the worker done processing the run it processed, after the load stopped | 1.00 s | 1.00 s | 1.00 s |")
	require.Contains(t, w.String(), "| the worker, resumed, done with the run it did not process, after the load stopped | 3.00 s | 3.00 s | 3.00 s |")
}
