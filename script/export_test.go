package script

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
