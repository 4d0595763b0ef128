package script

import (
	"fmt"
	"time"
)

// Config bounds the runner pool and every run. Zero values take the
// documented defaults.
type Config struct {
	// Runners is how many runner processes may exist at once, and so how
	// many scripts run concurrently; a run waits for a free runner.
	// Default 4.
	Runners int
	// Warm is how many idle runners are kept started ahead of demand.
	// Default 1; at most Runners.
	Warm int
	// Memory is the address space a runner may grow by beyond what it
	// had at start (RLIMIT_AS), per run. Default 256 MiB.
	Memory int64
	// CPU is the CPU time one run may use (RLIMIT_CPU, reset at each
	// run). Default: Timeout, rounded up to a second.
	CPU time.Duration
	// Timeout is the wall-clock limit of one run. Default 30s.
	Timeout time.Duration
	// MaxSteps bounds one run's Starlark execution steps. Default 100M
	// (about a second or two of pure computation).
	MaxSteps uint64
	// MaxOutput bounds what a run may print and log, and, separately,
	// the JSON of its return value. Default 1 MiB.
	MaxOutput int
	// RunsPerRunner recycles a runner after that many runs. Default
	// 10000. A run leaves nothing behind in its runner (its globals are
	// frozen, its thread is new, and the runner returns memory to the
	// system above 64 MiB of heap), so this is a backstop against slow
	// growth, not a boundary between runs; each start (a process, its
	// namespaces and lockdown) costs milliseconds of CPU: at 500, a
	// trivial endpoint answered a third fewer calls a second.
	RunsPerRunner int
	// CacheSize is how many compiled programs are kept. Default 512.
	CacheSize int
	// RequireIsolation makes the sandbox fail closed: Start fails, and
	// no runner is used, unless every layer (see the Layer* names) is on
	// and the probe found nothing a runner could do. Default false: every
	// layer the machine has is used, and Start logs an error naming the
	// missing ones, so that a laptop or a container without user
	// namespaces can still run scripts. Production workers set it.
	RequireIsolation bool

	// skipLayers, comma-separated layer names, are left off (tests only).
	skipLayers string
}

// Validate fills defaults and refuses negative or contradictory limits.
func (c *Config) Validate() error {
	if c.Runners < 0 || c.Warm < 0 || c.Memory < 0 || c.CPU < 0 || c.Timeout < 0 || c.MaxOutput < 0 ||
		c.RunsPerRunner < 0 || c.CacheSize < 0 {
		return fmt.Errorf("script: limits must not be negative")
	}
	if c.Runners == 0 {
		c.Runners = 4
	}
	if c.Warm == 0 {
		c.Warm = 1
	}
	c.Warm = min(c.Warm, c.Runners)
	if c.Memory == 0 {
		c.Memory = 256 << 20
	}
	if c.Memory < 32<<20 {
		return fmt.Errorf("script: Memory must be at least 32 MiB")
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.CPU == 0 {
		c.CPU = c.Timeout
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = 100_000_000
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = 1 << 20
	}
	if c.RunsPerRunner == 0 {
		c.RunsPerRunner = 10000
	}
	if c.CacheSize == 0 {
		c.CacheSize = 512
	}
	return nil
}
