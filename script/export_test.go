package script

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// IdlePIDs returns the process ids of the pool's idle runners.
func IdlePIDs(p *Pool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, r := range p.idle {
		if r.alive() {
			pids = append(pids, r.cmd.Process.Pid)
		}
	}
	return pids
}

// OnlyLayers returns cfg with every layer of the sandbox but names left
// off (rlimits and nnp are always on), to prove each layer on its own.
func OnlyLayers(cfg Config, names ...string) Config {
	var skip []string
	for _, l := range []string{LayerNetNS, LayerUnprivileged, LayerLandlock, LayerSeccomp} {
		if !slices.Contains(names, l) {
			skip = append(skip, l)
		}
	}
	cfg.skipLayers = strings.Join(skip, ",")
	return cfg
}

// FailSpawns makes the next runners p spawns fail with errs, in order,
// as if the kernel had refused to start them; then they start again.
func FailSpawns(p *Pool, errs ...syscall.Errno) {
	var mu sync.Mutex
	wrapLaunch(p, func(next launchFunc) launchFunc {
		return func(exe string, cfg Config, ns Layer) (*proc, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(errs) == 0 {
				return next(exe, cfg, ns)
			}
			err := errs[0]
			errs = errs[1:]
			return nil, fmt.Errorf("%w: %w", errSpawn, &os.PathError{Op: "fork/exec", Path: exe, Err: err})
		}
	})
}

// LeaveOff makes the runners p starts from now on leave layers off, as
// runners that could not apply them would.
func LeaveOff(p *Pool, layers ...string) {
	wrapLaunch(p, func(next launchFunc) launchFunc {
		return func(exe string, cfg Config, ns Layer) (*proc, error) {
			cfg.skipLayers = strings.Join(append([]string{cfg.skipLayers}, layers...), ",")
			return next(exe, cfg, ns)
		}
	})
}

type launchFunc = func(exe string, cfg Config, ns Layer) (*proc, error)

func wrapLaunch(p *Pool, wrap func(next launchFunc) launchFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.launch = wrap(p.launch)
}
