package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one operation's timings, counted from its start (the
// scheduled start, in an open loop).
type sample struct {
	accepted time.Duration // until the API answered 202; zero for baselines
	done     time.Duration // until the operation was complete
}

// op runs one operation as worker w (0 ≤ w < the loop's concurrency).
type op func(ctx context.Context, w int, start time.Time) (sample, error)

// budget bounds a run: n operations when n > 0, otherwise duration d.
type budget struct {
	d time.Duration
	n int
}

// result is what one run collected.
type result struct {
	samples  []sample
	errs     int
	firstErr error
	elapsed  time.Duration // from the first start to the last completion
}

type collector struct {
	mu sync.Mutex
	result
}

func (c *collector) add(s sample, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs++
		if c.firstErr == nil {
			c.firstErr = err
		}
		return
	}
	c.samples = append(c.samples, s)
}

// closedLoop runs conc workers, each starting its next operation as soon
// as the previous one completes, until the budget is spent. Its rate is
// the most the system sustains at this concurrency.
func closedLoop(ctx context.Context, conc int, b budget, run op) result {
	var c collector
	var issued atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(b.d)
	more := func() bool {
		if b.n > 0 {
			return issued.Add(1) <= int64(b.n)
		}
		return time.Now().Before(deadline)
	}
	for w := range conc {
		wg.Go(func() {
			for ctx.Err() == nil && more() {
				c.add(run(ctx, w, time.Now()))
			}
		})
	}
	wg.Wait()
	c.elapsed = time.Since(start)
	return c.result
}

// openLoop starts operations at a fixed rate whether or not earlier ones
// have completed, up to maxInFlight at once. Latency counts from each
// operation's scheduled start, so a server that falls behind shows its
// queue in the figures instead of slowing the load down (no coordinated
// omission).
func openLoop(ctx context.Context, rate float64, b budget, maxInFlight int, run op) result {
	var c collector
	var wg sync.WaitGroup
	slots := make(chan int, maxInFlight)
	for w := range maxInFlight {
		slots <- w
	}
	interval := time.Duration(float64(time.Second) / rate)
	n := b.n
	if n <= 0 {
		n = int(b.d / interval)
	}
	start := time.Now()
	for i := 0; i < n && sleepUntil(ctx, start.Add(time.Duration(i)*interval)); i++ {
		at := start.Add(time.Duration(i) * interval)
		select {
		case <-ctx.Done():
		case w := <-slots:
			wg.Go(func() { defer func() { slots <- w }(); c.add(run(ctx, w, at)) })
		}
	}
	wg.Wait()
	c.elapsed = time.Since(start)
	return c.result
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
