package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
)

// proc is one runner process, seen from the host. One run at a time.
type proc struct {
	cmd    *exec.Cmd
	in     *os.File // the runner's stdin
	out    *os.File // the runner's stdout
	w      *frameWriter
	r      *frameReader
	stderr *tail
	exited chan struct{} // closed once the process has been waited for
	layers []Layer       // its sandbox: ns, then what it reported in its hello
	runs   int
	broken bool // protocol state unknown (a run was abandoned): do not reuse
}

// errSpawn marks a runner the kernel would not start (as opposed to one
// that started and failed).
var errSpawn = errors.New("start runner")

// startProc starts a runner from exe, in the namespaces when ns is on,
// and waits for its hello.
func startProc(exe string, cfg Config, ns Layer) (*proc, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("runner pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("runner pipe: %w", err)
	}
	p := &proc{in: inW, out: outR, w: &frameWriter{w: inW}, r: newFrameReader(outR, maxFrame(cfg)),
		stderr: &tail{max: 4 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(exe)
	// Nothing of the worker's environment (DATABASE_URL, the master key)
	// reaches a runner; it runs in / with one core, and glibc (linked
	// in with cgo) keeps one malloc arena instead of reserving 64 MiB of
	// address space per thread.
	p.cmd.Env = []string{runnerEnv + "=" + strconv.FormatInt(cfg.Memory, 10), "GOMAXPROCS=1", "GOTRACEBACK=none", "MALLOC_ARENA_MAX=1"}
	if cfg.skipLayers != "" {
		p.cmd.Env = append(p.cmd.Env, skipEnv+"="+cfg.skipLayers)
	}
	p.cmd.Dir = "/"
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	p.cmd.SysProcAttr = sysProcAttr(ns)
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("%w: %w", errSpawn, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	if err := p.hello(ns); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// maxFrame bounds what the host reads from a runner in one frame.
func maxFrame(cfg Config) int { return max(cfg.MaxOutput, 16<<20) + 64<<10 }

// hello waits for the runner's first frame, which says how it locked
// itself down.
func (p *proc) hello(ns Layer) error {
	_ = p.out.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = p.out.SetReadDeadline(time.Time{}) }()
	f, err := p.r.read()
	if err != nil || f.Type != frameHello {
		<-p.exitedWithin(time.Second)
		return fmt.Errorf("runner did not start: %v; stderr: %s", err, p.stderr.String())
	}
	var layers []Layer
	if err := json.Unmarshal(f.Data, &layers); err != nil {
		return fmt.Errorf("runner hello: %w", err)
	}
	p.layers = append([]Layer{ns}, layers...)
	return nil
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitedWithin returns a channel closed when the process has exited or d
// has passed.
func (p *proc) exitedWithin(d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-p.exited:
		case <-time.After(d):
		}
	}()
	return done
}

// kill ends the process and waits for it.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
	p.in.Close()
	p.out.Close()
}

// close asks the runner to exit (EOF on its stdin), killing it if it
// does not within a second.
func (p *proc) close() {
	p.in.Close()
	select {
	case <-p.exited:
	case <-time.After(time.Second):
	}
	p.kill()
}

// run performs one run: it sends req, then serves the runner's host calls
// and collects its log until the runner is done. A runner that dies, or
// outlives the run's deadline, is killed and the run explained from its
// exit. ctx ending before the run is an error (the run did not finish),
// not a Failure.
func (p *proc) run(ctx context.Context, cfg Config, req runRequest, host Host, log *zap.Logger) (*Result, error) {
	p.runs++
	if err := p.w.write(&frame{Type: frameRun, Run: &req, Data: req.Input}); err != nil {
		p.broken = true
		return nil, fmt.Errorf("send run: %w", err)
	}
	res := &Result{}
	w := p.watch(ctx, cfg.Timeout)
	defer w.done()
	calls, cancel := context.WithTimeout(ctx, cfg.Timeout) // host calls end with the run
	defer cancel()
	var logs strings.Builder
	for {
		f, err := p.r.read()
		if err != nil {
			p.broken = true
			p.kill()
			if ctx.Err() != nil && !w.timedOut() {
				return nil, ctx.Err()
			}
			res.Log, res.Failure = logs.String(), p.death(cfg, w.timedOut())
			log.Info("script runner ended in a run", zap.String("failure", res.Failure.Kind),
				zap.String("exit", p.cmd.ProcessState.String()), zap.String("stderr", p.stderr.String()))
			return res, nil
		}
		switch f.Type {
		case frameLog:
			if logs.Len()+len(f.Text)+1 <= cfg.MaxOutput {
				logs.WriteString(f.Text)
				logs.WriteByte('\n')
			}
		case frameCall:
			if err := p.w.write(p.answer(calls, host, f, log)); err != nil {
				p.broken = true
			}
		case frameDone:
			out := f.Done
			if out == nil {
				p.broken = true
				return nil, errors.New("decode run outcome: a done frame without one")
			}
			p.broken = p.broken || out.Retire
			res.Value, res.Failure, res.Steps, res.Log = f.Data, out.Failure, out.Steps, logs.String()
			res.Tuple, res.Binary = out.Tuple, out.Binary
			return res, nil
		}
	}
}

// answer performs a host call; tenantry errors reach the script with
// their caller-safe message, internal ones only as "internal error".
func (p *proc) answer(ctx context.Context, host Host, f *frame, log *zap.Logger) *frame {
	reply := &frame{Type: frameReply, ID: f.ID}
	if host == nil {
		reply.Error = "not available here"
		return reply
	}
	out, err := host.Call(ctx, f.Fn, f.Data)
	if err != nil {
		reply.Error = tenantry.ErrorMessage(err)
		if tenantry.ErrorCode(err) == tenantry.EINTERNAL {
			log.Error("script host call failed", zap.String("fn", f.Fn), zap.Error(err))
		}
		return reply
	}
	reply.Data = out
	return reply
}

// death explains why a runner died in the middle of a run.
func (p *proc) death(cfg Config, timedOut bool) *Failure {
	stderr := p.stderr.String()
	code := p.cmd.ProcessState.ExitCode()
	switch {
	case timedOut:
		return &Failure{Kind: FailTimeout, Message: fmt.Sprintf("the script ran longer than %s and was stopped", cfg.Timeout)}
	case code == exitCPU:
		return &Failure{Kind: FailCPU, Message: fmt.Sprintf("the script used more than %s of CPU time and was stopped", cfg.CPU)}
	case strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory"):
		return &Failure{Kind: FailMemory, Message: fmt.Sprintf("the script used more than %d MiB of memory and was stopped", cfg.Memory>>20)}
	case strings.Contains(stderr, "stack overflow") || strings.Contains(stderr, "stack exceeds"):
		return &Failure{Kind: FailMemory, Message: "the script nested values too deeply and was stopped"}
	}
	return &Failure{Kind: FailCrash, Message: "the script's runner stopped unexpectedly (" + p.cmd.ProcessState.String() + ")"}
}

// watcher enforces a run's deadline from outside the runner: at the
// deadline (or when ctx ends) it asks the runner to cancel, and a grace
// period later it kills it. Timers, not a goroutine per run.
type watcher struct {
	p        *proc
	deadline *time.Timer
	stopCtx  func() bool

	mu       sync.Mutex
	finished bool        // done was called: the run is over, leave the runner be
	expired  bool        // the deadline passed
	kill     *time.Timer // set once the runner was asked to cancel
}

const killGrace = time.Second

func (p *proc) watch(ctx context.Context, timeout time.Duration) *watcher {
	w := &watcher{p: p}
	w.deadline = time.AfterFunc(timeout, func() { w.cancel(true) })
	w.stopCtx = context.AfterFunc(ctx, func() { w.cancel(false) })
	return w
}

// cancel asks the runner to stop the run, and arms the kill.
func (w *watcher) cancel(expired bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished || w.kill != nil {
		return
	}
	w.expired = expired
	_ = w.p.w.write(&frame{Type: frameCancel})
	w.kill = time.AfterFunc(killGrace, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.finished {
			_ = w.p.cmd.Process.Kill()
		}
	})
}

// done ends the watch: once it returns, the runner is neither cancelled
// nor killed for this run.
func (w *watcher) done() {
	w.deadline.Stop()
	w.stopCtx()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = true
	if w.kill != nil {
		w.kill.Stop()
	}
}

func (w *watcher) timedOut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}

// tail keeps the first and the last max/2 bytes written to it: a
// runner's stderr, read when it dies (the reason is at the start, the
// last words at the end). Safe for concurrent use.
type tail struct {
	mu         sync.Mutex
	max        int
	head, last []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	half := t.max / 2
	rest := b
	if room := half - len(t.head); room > 0 {
		n := min(room, len(rest))
		t.head, rest = append(t.head, rest[:n]...), rest[n:]
	}
	t.last = append(t.last, rest...)
	if len(t.last) > half {
		t.last = append([]byte(nil), t.last[len(t.last)-half:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.head) + string(t.last)
}

var errStopped = errors.New("script: the runner pool is stopped")
