package script

import (
	"slices"
	"strings"
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

// Probe has one of p's runners probe its sandbox, connecting to tcpAddr,
// and returns what it found.
func Probe(p *Pool, tcpAddr string) (Isolation, error) {
	r, err := p.take()
	if err != nil {
		return Isolation{}, err
	}
	defer p.release(r)
	results, err := r.probe(tcpAddr)
	return Isolation{Layers: r.layers, Probe: results}, err
}
