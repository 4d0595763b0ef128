package main

import (
	"slices"
	"time"
)

// stat summarises one measurement of one round.
type stat struct {
	P50, P99 time.Duration
	Rate     float64 // completed operations per second
	N        int     // completed operations
	Errors   int
}

// summarize reduces a run to percentiles of the timing pick chooses.
func summarize(r result, pick func(sample) time.Duration) stat {
	lat := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		lat[i] = pick(s)
	}
	slices.Sort(lat)
	s := stat{P50: percentile(lat, 50), P99: percentile(lat, 99), N: len(lat), Errors: r.errs}
	if r.elapsed > 0 {
		s.Rate = float64(len(lat)) / r.elapsed.Seconds()
	}
	return s
}

func accepted(s sample) time.Duration { return s.accepted }
func done(s sample) time.Duration     { return s.done }

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// medianStat is the per-field median of one measurement across rounds.
func medianStat(rounds []round, get func(*round) *stat) stat {
	field := func(f func(stat) float64) float64 {
		vals := make([]float64, len(rounds))
		for i := range rounds {
			vals[i] = f(*get(&rounds[i]))
		}
		return median(vals)
	}
	return stat{
		P50:    time.Duration(field(func(s stat) float64 { return float64(s.P50) })),
		P99:    time.Duration(field(func(s stat) float64 { return float64(s.P99) })),
		Rate:   field(func(s stat) float64 { return s.Rate }),
		N:      int(field(func(s stat) float64 { return float64(s.N) })),
		Errors: int(field(func(s stat) float64 { return float64(s.Errors) })),
	}
}

func median(vals []float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
