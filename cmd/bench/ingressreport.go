package main

import (
	"fmt"
	"strings"
	"time"
)

// ingressGoal is the project's goal for webhook ingress: this share of
// the rate of raw concurrent JetStream publishes of the same message.
const ingressGoal = 0.5

func ingressFigures(cfg config) []measurement {
	return []measurement{
		{fmt.Sprintf("**POST /hooks/account/{token} → 202, the API alone** (webhook ingress, %d clients; the worker's consumer paused)", cfg.IngressConc),
			func(r *round) *stat { return &r.Ingress.Alone }},
		{"**POST /hooks/account/{token} → 202, the worker processing meanwhile** (on the same 2 CPUs)",
			func(r *round) *stat { return &r.Ingress.Hook }},
		{"bare net/http handler → 202 (same client, its own loopback listener)", func(r *round) *stat { return &r.Ingress.Bare }},
		{fmt.Sprintf("raw JetStream publish of the same message (sync, Nats-Msg-Id, %d publishers)", cfg.IngressConc),
			func(r *round) *stat { return &r.Ingress.JS }},
	}
}

// writeIngress is webhook ingress next to its baselines, medians across
// rounds, and the goal.
func writeIngress(w *strings.Builder, cfg config, rounds []round) {
	figs := ingressFigures(cfg)
	fmt.Fprintf(w, "\n### Webhook ingress next to a bare handler and raw JetStream publishes (medians)\n\n"+
		"%d clients in a closed loop, each on a keep-alive connection of its own, send a %d-byte JSON body with a "+
		"webhook-id of its own: for %s to the account's webhook URL, for %s to each baseline. "+
		"*share* is the throughput's share of the raw JetStream publishes'.\n\n",
		cfg.IngressConc, ingressBodySize, cfg.IngressDur, cfg.BaselineDur)
	writeStats(w, rounds, figs, figs[3].get)
	alone := median(roundValues(rounds, func(r round) float64 { return float64(r.Ingress.AloneDrain) }))
	drain := median(roundValues(rounds, func(r round) float64 { return float64(r.Ingress.Drain) }))
	fmt.Fprintf(w, "\nThe worker recorded every webhook answered 202 once, as processed (medians): after the run with its "+
		"consumer paused, resumed, it caught up in %s; while processing during the other run, it was done %s after the "+
		"load stopped.\n", secs(time.Duration(alone)), secs(time.Duration(drain)))
	js := medianStat(rounds, figs[3].get)
	fmt.Fprintf(w, "\nGoal: webhook ingress req/s ≥ %s of the raw concurrent JetStream publish rate. Measured (medians of rounds):\n\n",
		percent(ingressGoal, 1))
	for _, f := range []struct {
		name string
		s    stat
	}{{"the API alone", medianStat(rounds, figs[0].get)}, {"the worker processing meanwhile", medianStat(rounds, figs[1].get)}} {
		fmt.Fprintf(w, "- %s: %s/s of %s/s, %s — %s.\n", f.name, rate(f.s.Rate), rate(js.Rate), percent(f.s.Rate, js.Rate),
			metOrNot(f.s.Rate >= ingressGoal*js.Rate))
	}
}

// writeIngressRounds is webhook ingress in every round.
func writeIngressRounds(w *strings.Builder, cfg config, rounds []round) {
	writeStatRounds(w, "Webhook ingress", rounds, ingressFigures(cfg))
	for _, row := range []struct {
		name string
		d    func(r round) time.Duration
	}{
		{"the worker, resumed, done with the run it did not process, after the load stopped", func(r round) time.Duration { return r.Ingress.AloneDrain }},
		{"the worker done processing the run it processed, after the load stopped", func(r round) time.Duration { return r.Ingress.Drain }},
	} {
		w.WriteString("| " + row.name + " |")
		for _, r := range rounds {
			fmt.Fprintf(w, " %s |", secs(row.d(r)))
		}
		w.WriteString("\n")
	}
}

// writeStats is a table of figs, medians across rounds, each with its
// throughput's share of ref's.
func writeStats(w *strings.Builder, rounds []round, figs []measurement, ref func(*round) *stat) {
	base := medianStat(rounds, ref).Rate
	w.WriteString("| measurement | p50 | p99 | req/s | share | completed | errors |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, f := range figs {
		s := medianStat(rounds, f.get)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %d |\n", f.name, ms(s.P50), ms(s.P99), rate(s.Rate),
			percent(s.Rate, base), s.N, s.Errors)
	}
}

// writeStatRounds is figs in every round: p50 / p99, throughput.
func writeStatRounds(w *strings.Builder, title string, rounds []round, figs []measurement) {
	fmt.Fprintf(w, "\n%s, each cell: p50 / p99, throughput.\n\n| measurement |", title)
	writeRoundColumns(w, len(rounds))
	for _, f := range figs {
		w.WriteString("| " + f.name + " |")
		for i := range rounds {
			s := f.get(&rounds[i])
			fmt.Fprintf(w, " %s / %s, %s/s%s |", ms(s.P50), ms(s.P99), rate(s.Rate), errNote(s.Errors))
		}
		w.WriteString("\n")
	}
}
