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
	r := func(hook float64) round {
		return round{Ingress: ingressRound{Hook: stat{P50: 2 * ms, P99: 9 * ms, Rate: hook, N: 100},
			Bare: stat{P50: ms, P99: 3 * ms, Rate: 3000}, JS: stat{P50: ms, P99: 2 * ms, Rate: 2000}, Drain: time.Second}}
	}
	cfg := config{IngressConc: 64, IngressDur: 5 * time.Second, BaselineDur: 3 * time.Second}
	// The median round, not the mean, sets each figure.
	rounds := []round{r(1000), r(1), r(1200)}
	var w strings.Builder
	writeIngress(&w, cfg, rounds)
	out := w.String()
	require.Contains(t, out, "64 clients in a closed loop")
	require.Contains(t, out, "| **POST /hooks/account/{token} → 202** (webhook ingress, 64 clients) | 2.00 ms | 9.00 ms | 1000 | 50% | 100 | 0 |")
	require.Contains(t, out, "| bare net/http handler → 202 (same client, its own loopback listener) | 1.00 ms | 3.00 ms | 3000 | 150% |")
	require.Contains(t, out, "it was done 1.00 s after the load stopped")
	require.Contains(t, out, "1000/s of 2000/s, 50% — met.")

	w.Reset()
	writeIngress(&w, cfg, []round{r(999)})
	require.Contains(t, w.String(), "999/s of 2000/s, 50% — **not met**.")

	w.Reset()
	writeIngressRounds(&w, cfg, rounds)
	require.Contains(t, w.String(), "| **POST /hooks/account/{token} → 202** (webhook ingress, 64 clients) | 2.00 ms / 9.00 ms, 1000/s | 2.00 ms / 9.00 ms, 1.0/s | 2.00 ms / 9.00 ms, 1200/s |")
	require.Contains(t, w.String(), "| the worker done processing the webhook run, after the load stopped | 1.00 s | 1.00 s | 1.00 s |")
}
