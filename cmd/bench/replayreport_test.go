package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteReplay(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	r := func(rerun time.Duration) round {
		return round{Replay: replayRound{Msgs: 1000, Raw: 10 * ms, Applied: 12 * ms, Rerun: rerun}}
	}
	// The median round, not the mean, sets each figure.
	rounds := []round{r(20 * ms), r(time.Second), r(10 * ms)}
	var w strings.Builder
	writeReplay(&w, rounds)
	out := w.String()
	require.Contains(t, out, "Each round sends 1000 webhooks of 1024 bytes")
	require.Contains(t, out, "| raw ordered consumer reading the same messages (the reference) | 0.01 s | 100000 | 100% |")
	require.Contains(t, out, "| replay, every webhook failed before: re-run through the worker (until it has acknowledged every replayed message) | 0.02 s | 50000 | 50% |")
	require.Contains(t, out, "- **replay, every webhook processed before** (events.Replay returns: each read and checked, none published): 83% — met.")
	require.Contains(t, out, "- replay, every webhook failed before: re-run through the worker (until it has acknowledged every replayed message): 50% — **not met**.")

	w.Reset()
	writeReplayRounds(&w, rounds)
	require.Contains(t, w.String(), "| 0.02 s, 50000/s, 50% | 1.00 s, 1000/s, 1% | 0.01 s, 100000/s, 100% |")
}
