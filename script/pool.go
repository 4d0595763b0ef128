package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
)

// Pool runs scripts in runner subprocesses: at most Config.Runners at
// once, keeping Config.Warm started ahead of demand. A runner that dies
// or exceeds a limit is discarded and replaced. Safe for concurrent use;
// Start before Run, Stop when done.
type Pool struct {
	cfg      Config
	exe      string
	log      *zap.Logger
	compiler *Compiler
	slots    chan struct{} // one per run in progress

	mu       sync.Mutex
	ns       Layer                                                 // the namespace layer runners start with
	launch   func(exe string, cfg Config, ns Layer) (*proc, error) // startProc, unless a test makes it fail
	iso      Isolation                                             // as found at Start
	idle     []*proc
	starting int
	stopped  bool
	filling  sync.WaitGroup
	stopOnce sync.Once
}

// NewPool returns a pool whose runners are this executable, re-executed
// (see the init hook in runner.go). It fails on a bad Config.
func NewPool(cfg Config, log *zap.Logger) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("script: find own executable: %w", err)
	}
	return &Pool{cfg: cfg, exe: exe, log: log, compiler: NewCompiler(cfg.CacheSize),
		slots: make(chan struct{}, cfg.Runners), ns: netnsLayer(cfg.skipLayers), launch: startProc}, nil
}

// Config is the pool's configuration, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// Compile compiles src through the pool's program cache (see Compiler).
func (p *Pool) Compile(src string) (*Program, error) { return p.compiler.Compile(src) }

// Start starts the warm runners; it returns once the first is ready, so
// a runner that cannot start fails Start (or ctx ending while it retries).
// It probes the first runner's sandbox and logs what it found
// (Isolation); with Config.RequireIsolation, a sandbox short of complete
// fails Start.
func (p *Pool) Start(ctx context.Context) error {
	first, err := p.startFirst(ctx)
	if err != nil {
		return err
	}
	iso, err := p.inspect(first)
	if err == nil && p.cfg.RequireIsolation && len(iso.Gaps()) > 0 {
		err = fmt.Errorf("script: the runner sandbox is incomplete: %s", strings.Join(iso.Gaps(), "; "))
	}
	p.mu.Lock()
	p.iso, p.stopped = iso, err != nil // a failed Start leaves the pool stopped, not refilling
	p.mu.Unlock()
	if err != nil {
		first.kill()
		return err
	}
	p.report(iso)
	p.put(first)
	p.refill()
	return nil
}

// startFirst starts the first runner: without namespaces from then on
// if the kernel refuses to create them, again after a pause if it
// refuses for another reason (EAGAIN when out of processes), which may
// pass.
func (p *Pool) startFirst(ctx context.Context) (*proc, error) {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		r, err := p.start()
		switch {
		case err == nil || !errors.Is(err, errSpawn):
			return r, err
		case p.fallBackWithoutNamespaces(err):
			continue
		case attempt >= 3:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
			pause *= 2
		}
	}
}

// fallBackWithoutNamespaces turns the namespace layer off, and reports true,
// when err, a runner's spawn failing, is the kernel refusing to create
// its namespaces: EPERM (no user namespaces for this user, or a
// container's seccomp profile), EINVAL (a kernel built without them),
// ENOSPC (a namespace limit of 0). It could also be exec refusing the
// executable: the next spawn, without namespaces, tells.
func (p *Pool) fallBackWithoutNamespaces(err error) bool {
	if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOSPC) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ns.On {
		return false
	}
	p.ns = Layer{Name: LayerNetNS, Detail: "the kernel refused: " + err.Error()}
	return true
}

// report logs the sandbox: loudly when it falls short.
func (p *Pool) report(iso Isolation) {
	if gaps := iso.Gaps(); len(gaps) > 0 {
		p.log.Error("script runners are not fully isolated: a hole in the interpreter would reach more of the worker "+
			"(set script.Config.RequireIsolation to refuse to start)",
			zap.String("sandbox", iso.String()), zap.Strings("gaps", gaps))
		return
	}
	p.log.Info("script runner sandbox", zap.String("sandbox", iso.String()))
}

// Isolation is the sandbox of the pool's runners as Start found it: its
// layers and what a probe inside a runner could do. Safe for concurrent
// use; empty before Start.
func (p *Pool) Isolation() Isolation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.iso
}

// Stop ends every idle runner and waits for runners being started. Runs
// still in progress finish, and their runners are ended then. Safe to
// call twice.
func (p *Pool) Stop() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		for _, r := range idle {
			r.close()
		}
		p.filling.Wait()
	})
}

// Run runs req.Program in a runner within the configured limits. A run
// that fails through the script's own doing is a Result with Failure
// set, not an error. The error is for runs that could not happen or
// finish: ctx ended (the run may have been cut short), the pool is
// stopped (EUNAVAILABLE), or no runner could be started.
func (p *Pool) Run(ctx context.Context, req Request) (*Result, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	r, err := p.take()
	if err != nil {
		return nil, err
	}
	entry := req.Entry
	if entry == "" {
		entry = EntryMain
	}
	start := time.Now()
	res, err := r.run(ctx, p.cfg, runRequest{Hash: req.Program.Hash, Program: req.Program.compiled, Entry: entry,
		Input: req.Input, MaxSteps: p.cfg.MaxSteps, TimeoutMS: p.cfg.Timeout.Milliseconds(),
		CPUSecs: int64((p.cfg.CPU + time.Second - 1) / time.Second), MaxOutput: p.cfg.MaxOutput}, req.Host, p.log)
	p.release(r)
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// take returns an idle, living runner, or starts one.
func (p *Pool) take() (*proc, error) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "%v", errStopped)
	}
	for len(p.idle) > 0 {
		r := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if r.alive() {
			p.mu.Unlock()
			return r, nil
		}
		r.kill() // reap it: it died while idle
	}
	p.mu.Unlock()
	defer p.refill()
	return p.start()
}

// start starts a runner; when it exits, whenever and however, the warm
// set is filled up again. A runner with a layer off is refused with
// Config.RequireIsolation, and otherwise logged if the layer was on when
// the pool started (Isolation): its sandbox is weaker than reported.
func (p *Pool) start() (*proc, error) {
	r, err := p.spawn()
	if err != nil {
		return nil, err
	}
	if gaps := layerGaps(r.layers); p.cfg.RequireIsolation && len(gaps) > 0 {
		r.kill()
		return nil, fmt.Errorf("script: a runner could not lock itself down: %s", strings.Join(gaps, "; "))
	}
	if lost := p.lostLayers(r.layers); len(lost) > 0 {
		p.log.Error("script runner started with fewer sandbox layers than the pool reported at Start",
			zap.Int("pid", r.cmd.Process.Pid), zap.Strings("off", lost),
			zap.String("sandbox", Isolation{Layers: r.layers}.String()))
	}
	go func() {
		<-r.exited
		p.refill()
	}()
	return r, nil
}

// spawn starts a runner process with the pool's namespace layer.
func (p *Pool) spawn() (*proc, error) {
	p.mu.Lock()
	ns, launch := p.ns, p.launch
	p.mu.Unlock()
	return launch(p.exe, p.cfg, ns)
}

// lostLayers names the layers that are off in layers, a runner's, but
// were on in the pool's first runner. None before Start has probed it.
func (p *Pool) lostLayers(layers []Layer) []string {
	p.mu.Lock()
	reported := p.iso
	p.mu.Unlock()
	var lost []string
	for _, l := range layers {
		if !l.On && reported.On(l.Name) {
			lost = append(lost, fmt.Sprintf("%s (%s)", l.Name, l.Detail))
		}
	}
	return lost
}

// release returns r to the idle set, or ends it when it is worn out or
// its state is unknown, and keeps the warm set full.
func (p *Pool) release(r *proc) {
	if r.broken || !r.alive() || r.runs >= p.cfg.RunsPerRunner || !p.put(r) {
		go r.close()
	}
	p.refill()
}

// put adds r to the idle set unless the pool is stopped or full.
func (p *Pool) put(r *proc) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || len(p.idle) >= p.cfg.Runners {
		return false
	}
	p.idle = append(p.idle, r)
	return true
}

// refill forgets idle runners that died and starts runners in the
// background until Warm are idle or starting.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	living := p.idle[:0]
	for _, r := range p.idle {
		if r.alive() {
			living = append(living, r)
		} else {
			r.kill()
		}
	}
	p.idle = living
	for !p.stopped && len(p.idle)+p.starting < p.cfg.Warm {
		p.starting++
		p.filling.Add(1)
		go p.fill()
	}
}

func (p *Pool) fill() {
	defer p.filling.Done()
	r, err := p.start()
	p.mu.Lock()
	p.starting--
	p.mu.Unlock()
	if err != nil {
		p.log.Error("start script runner", zap.Error(err))
		return
	}
	if !p.put(r) {
		r.close()
	}
}
