package main

import (
	"fmt"
	"strings"
	"time"
)

// syncGoal is the project's goal for syncs: this share of the rows/s of
// a raw CopyFrom of the same rows.
const syncGoal = 0.5

// syncFigure is one row of the sync results: what it is and where a
// round keeps it.
type syncFigure struct {
	name string
	get  func(syncRound) time.Duration
}

func syncFigures() []syncFigure {
	return []syncFigure{
		{"**sync, every row new** (a new connection's first sync)", func(s syncRound) time.Duration { return s.Insert }},
		{"**sync, the same rows again** (full refresh, none changed)", func(s syncRound) time.Duration { return s.Update }},
		{"raw CopyFrom, every row in one statement (the ceiling)", func(s syncRound) time.Duration { return s.Copy }},
		{"raw CopyFrom, one statement and commit per 1000-row page", func(s syncRound) time.Duration { return s.Pages }},
		{"the sync's write alone (store.WriteRecords per 1000-row page), every row new", func(s syncRound) time.Duration { return s.Write }},
		{"the sync's write alone, the same rows again", func(s syncRound) time.Duration { return s.Rewrite }},
	}
}

// writeSync is the syncs next to raw CopyFrom, medians across rounds,
// and the goal.
func writeSync(w *strings.Builder, m machine, rounds []round) {
	rows := rounds[0].Sync.Rows
	med := func(get func(syncRound) time.Duration) (time.Duration, float64) {
		d := median(roundValues(rounds, func(r round) float64 { return float64(get(r.Sync)) }))
		return time.Duration(d), median(roundValues(rounds, func(r round) float64 { return r.Sync.rate(get(r.Sync)) }))
	}
	_, ceiling := med(func(s syncRound) time.Duration { return s.Copy })
	fmt.Fprintf(w, "\n### Syncs next to raw CopyFrom (medians)\n\n"+
		"Each sync reads %d rows (%d pages of %d, records of %d B of JSON on average) from the fake API on loopback "+
		"into the tenant's warehouse, timed from POST /api/server/{id}/sync to its sync.succeeded event. "+
		"The CopyFrom baselines write the same keys and JSON into a fresh table of the same shape.\n\n"+
		"| measurement | time | rows/s | share of raw CopyFrom |\n|---|--:|--:|--:|\n",
		rows, (rows+syncPageSize-1)/syncPageSize, syncPageSize, m.Record)
	for _, f := range syncFigures() {
		d, r := med(f.get)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f.name, secs(d), rate(r), percent(r, ceiling))
	}
	fmt.Fprintf(w, "\nGoal: sync rows/s ≥ %s of a raw CopyFrom of the same rows. Measured (medians of rounds):\n\n", percent(syncGoal, 1))
	for _, f := range syncFigures()[:2] {
		_, r := med(f.get)
		fmt.Fprintf(w, "- %s: %s — %s.\n", f.name, percent(r, ceiling), metOrNot(r >= syncGoal*ceiling))
	}
}

// writeSyncRounds is the syncs of every round, each next to the same
// round's CopyFrom.
func writeSyncRounds(w *strings.Builder, rounds []round) {
	w.WriteString("\nSyncs, each cell: the time to move every row, rows/s, share of the same round's raw CopyFrom.\n\n| measurement |")
	writeRoundColumns(w, len(rounds))
	for _, f := range syncFigures() {
		w.WriteString("| " + f.name + " |")
		for _, r := range rounds {
			s := r.Sync
			fmt.Fprintf(w, " %s, %s/s, %s |", secs(f.get(s)), rate(s.rate(f.get(s))), percent(s.rate(f.get(s)), s.rate(s.Copy)))
		}
		w.WriteString("\n")
	}
}

func metOrNot(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func percent(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}
