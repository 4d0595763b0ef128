package main

import (
	"fmt"
	"strings"
	"time"
)

// replayGoal is the project's goal for replay: this share of the msgs/s
// of a raw ordered consumer reading the same messages.
const replayGoal = 0.7

// replayFigure is one row of the replay results.
type replayFigure struct {
	name string
	get  func(replayRound) time.Duration
}

func replayFigures() []replayFigure {
	return []replayFigure{
		{"raw ordered consumer reading the same messages (the reference)", func(r replayRound) time.Duration { return r.Raw }},
		{"**replay, every webhook processed before** (events.Replay returns: each read and checked, none published)",
			func(r replayRound) time.Duration { return r.Applied }},
		{"replay, every webhook failed before: re-run through the worker (until it has acknowledged every replayed message)",
			func(r replayRound) time.Duration { return r.Rerun }},
	}
}

// writeReplay is the replay next to the raw ordered consumer, medians
// across rounds, and the goal.
func writeReplay(w *strings.Builder, rounds []round) {
	med := func(get func(replayRound) time.Duration) (time.Duration, float64) {
		d := median(roundValues(rounds, func(r round) float64 { return float64(get(r.Replay)) }))
		return time.Duration(d), median(roundValues(rounds, func(r round) float64 { return r.Replay.rate(get(r.Replay)) }))
	}
	figs := replayFigures()
	_, raw := med(figs[0].get)
	fmt.Fprintf(w, "\n### Webhook replay next to a raw ordered consumer (medians)\n\n"+
		"Each round sends %d webhooks of %d bytes to a subaccount of their own (not timed), waits until the worker has "+
		"processed them, then reads them with a raw ordered consumer and replays them with `events.Replay` and the check "+
		"of what was applied (what `tenantry replay` and `POST /api/admin/replay` run); then marks them failed (not timed) "+
		"and replays them again.\n\n"+
		"| measurement | time | msgs/s | share of the raw ordered consumer |\n|---|--:|--:|--:|\n",
		rounds[0].Replay.Msgs, ingressBodySize)
	for _, f := range figs {
		d, r := med(f.get)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f.name, secs(d), rate(r), percent(r, raw))
	}
	fmt.Fprintf(w, "\nGoal: replay msgs/s ≥ %s of a raw ordered consumer's. Measured (medians of rounds):\n\n", percent(replayGoal, 1))
	for _, f := range figs[1:] {
		_, r := med(f.get)
		fmt.Fprintf(w, "- %s: %s — %s.\n", f.name, percent(r, raw), metOrNot(r >= replayGoal*raw))
	}
}

// writeReplayRounds is the replay of every round, each next to the same
// round's raw ordered consumer.
func writeReplayRounds(w *strings.Builder, rounds []round) {
	w.WriteString("\nReplay, each cell: the time to go through every message, msgs/s, share of the same round's raw ordered consumer.\n\n| measurement |")
	writeRoundColumns(w, len(rounds))
	for _, f := range replayFigures() {
		w.WriteString("| " + f.name + " |")
		for _, r := range rounds {
			x := r.Replay
			fmt.Fprintf(w, " %s, %s/s, %s |", secs(f.get(x)), rate(x.rate(f.get(x))), percent(x.rate(f.get(x)), x.rate(x.Raw)))
		}
		w.WriteString("\n")
	}
}
