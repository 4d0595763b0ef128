package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteSync(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	r := func(insert time.Duration) round {
		return round{Sync: syncRound{Rows: 1000, Copy: 10 * ms, Pages: 20 * ms, Insert: insert, Update: 40 * ms,
			Write: 15 * ms, Rewrite: 25 * ms}}
	}
	// The median round, not the mean, sets each figure.
	rounds := []round{r(20 * ms), r(time.Second), r(20 * ms)}
	var w strings.Builder
	writeSync(&w, machine{Record: 480}, rounds)
	out := w.String()
	require.Contains(t, out, "1000 rows (1 pages of 1000, records of 480 B of JSON on average)")
	require.Contains(t, out, "| **sync, every row new** (a new connection's first sync) | 0.02 s | 50000 | 50% |")
	require.Contains(t, out, "| raw CopyFrom, every row in one statement (the ceiling) | 0.01 s | 100000 | 100% |")
	require.Contains(t, out, "- **sync, every row new** (a new connection's first sync): 50% — met.")
	require.Contains(t, out, "- **sync, the same rows again** (full refresh, none changed): 25% — **not met**.")

	w.Reset()
	writeSyncRounds(&w, rounds)
	require.Contains(t, w.String(), "| **sync, every row new** (a new connection's first sync) | 0.02 s, 50000/s, 50% | 1.00 s, 1000/s, 1% | 0.02 s, 50000/s, 50% |")
}
