package script

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
)

// runnerEnv marks a process the pool started as a runner; its value is
// the runner's memory budget in bytes.
const runnerEnv = "TENANTRY_SCRIPT_RUNNER"

// init turns any binary that links this package into a runner when the
// pool re-executes it: before main, before TestMain, before flags, before
// anything opens a connection. A hook every main and every TestMain had
// to call would be one forgotten call away from a test binary re-running
// its own tests as a "runner".
func init() {
	if budget, ok := os.LookupEnv(runnerEnv); ok {
		os.Exit(runnerMain(budget))
	}
}

// runnerMain limits and locks down this process, then serves runs on
// stdin/stdout until stdin closes. Its exit code is 0 then; 2 if it
// could not start.
func runnerMain(budget string) int {
	mem, err := strconv.ParseInt(budget, 10, 64)
	if err == nil {
		err = limitProcess(mem)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "script runner: %v\n", err)
		return 2
	}
	layers := lockdown(os.Getenv(skipEnv))
	// The GC works hard before the address-space limit is reached, so a
	// script that only churns garbage is not taken for one that hoards.
	debug.SetMemoryLimit(mem / 2)
	debug.SetMaxStack(64 << 20)
	watchCPU()
	r := &runner{out: &frameWriter{w: pipe(1, "stdout")}, programs: newLRU[string, *starlark.Program](64),
		replies: make(chan *frame, 1), runs: make(chan runRequest, 1)}
	return r.serve(newFrameReader(pipe(0, "stdin"), 256<<20), layers)
}

// runner is the runner process's state: one run at a time.
type runner struct {
	out      *frameWriter
	programs *lru[string, *starlark.Program]
	replies  chan *frame
	runs     chan runRequest
	current  atomic.Pointer[run]
	calls    atomic.Uint64
}

func (r *runner) serve(in *frameReader, layers []Layer) int {
	hello, _ := json.Marshal(layers)
	if err := r.out.write(&frame{Type: frameHello, Data: hello}); err != nil {
		return 0
	}
	go r.read(in)
	for req := range r.runs {
		out := r.execute(req)
		if err := r.out.write(&frame{Type: frameDone, Done: &out, Data: out.Value}); err != nil || out.Retire {
			return 0
		}
		if m := heapInUse(); m > 64<<20 {
			debug.FreeOSMemory()
		}
	}
	return 0
}

// read dispatches the host's frames; when the host goes away, so does
// the runner.
func (r *runner) read(in *frameReader) {
	defer close(r.runs)
	for {
		f, err := in.read()
		if err != nil {
			return
		}
		switch f.Type {
		case frameRun:
			if f.Run == nil {
				return
			}
			req := *f.Run
			req.Input = f.Data
			r.runs <- req
		case frameReply:
			r.replies <- f
		case frameCancel:
			if ru := r.current.Load(); ru != nil {
				ru.stop(FailTimeout, "the run was cancelled")
			}
		case frameProbe: // between runs: the host waits for the answer
			var req probeRequest
			if err := json.Unmarshal(f.Data, &req); err != nil {
				return
			}
			data, _ := json.Marshal(probe(req))
			_ = r.out.write(&frame{Type: frameProbed, Data: data})
		}
	}
}

// program decodes a compiled program, once per hash.
func (r *runner) program(req runRequest) (*starlark.Program, error) {
	if p, ok := r.programs.get(req.Hash); ok {
		return p, nil
	}
	p, err := starlark.CompiledProgram(bytes.NewReader(req.Program))
	if err != nil {
		return nil, err
	}
	r.programs.put(req.Hash, p)
	return p, nil
}

// run is one execution in progress.
type run struct {
	r       *runner
	req     runRequest
	thread  *starlark.Thread
	logged  int
	kind    atomic.Pointer[string] // why the run was stopped, once it is
	stopped chan struct{}
	once    sync.Once
}

// stop ends the run for reason (one of the Fail* kinds); the first call
// wins.
func (ru *run) stop(kind, reason string) {
	ru.once.Do(func() {
		ru.kind.Store(&kind)
		close(ru.stopped)
		ru.thread.Cancel(reason)
	})
}

// log sends one line of output to the host, ending the run when the
// output grows past its cap.
func (ru *run) log(line string) {
	ru.logged += len(line) + 1
	if ru.logged > ru.req.MaxOutput {
		ru.stop(FailOutput, "output limit exceeded")
		return
	}
	_ = ru.r.out.write(&frame{Type: frameLog, Text: line})
}

// call performs a host call and waits for its answer, or for the run to
// be stopped.
func (ru *run) call(fn string, args any) (json.RawMessage, error) {
	data, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	id := ru.r.calls.Add(1)
	if err := ru.r.out.write(&frame{Type: frameCall, ID: id, Fn: fn, Data: data}); err != nil {
		return nil, err
	}
	for {
		select {
		case f := <-ru.r.replies:
			if f.ID != id {
				continue // the answer to a call an earlier, stopped run gave up on
			}
			if f.Error != "" {
				return nil, errors.New(f.Error)
			}
			return f.Data, nil
		case <-ru.stopped:
			return nil, errors.New("the run was stopped")
		}
	}
}

func (r *runner) execute(req runRequest) (out runOutcome) {
	prog, err := r.program(req)
	if err != nil {
		return runOutcome{Failure: &Failure{Kind: FailCrash, Message: "the program could not be loaded"}, Retire: true}
	}
	ru := &run{r: r, req: req, stopped: make(chan struct{})}
	ru.thread = &starlark.Thread{Name: "script", Load: load,
		Print:      func(_ *starlark.Thread, msg string) { ru.log(msg) },
		OnMaxSteps: func(*starlark.Thread) { ru.stop(FailSteps, "step limit exceeded") }}
	ru.thread.SetMaxExecutionSteps(req.MaxSteps)
	ru.thread.SetLocal(runKey, ru)
	r.current.Store(ru)
	defer r.current.Store(nil)
	timer := time.AfterFunc(time.Duration(req.TimeoutMS)*time.Millisecond, func() { ru.stop(FailTimeout, "timeout") })
	defer timer.Stop()
	defer func() {
		if p := recover(); p != nil {
			out = runOutcome{Failure: panicFailure(p), Steps: ru.thread.ExecutionSteps(), Retire: true}
		}
	}()
	if err := allowCPU(req.CPUSecs); err != nil {
		return runOutcome{Failure: &Failure{Kind: FailCrash, Message: "the runner could not set its CPU limit"}, Retire: true}
	}
	value, err := ru.enter(prog)
	out.Steps = ru.thread.ExecutionSteps()
	if err == nil {
		err = ru.output(value, &out)
	}
	if err != nil {
		out.Failure = ru.failure(err)
	}
	return out
}

// enter runs the top level, then the entry point.
func (ru *run) enter(prog *starlark.Program) (starlark.Value, error) {
	globals, err := prog.Init(ru.thread, predeclaredNames)
	if err != nil {
		return nil, err
	}
	globals.Freeze()
	fn, ok := globals[ru.req.Entry]
	switch {
	case !ok && ru.req.Entry == EntryHandler:
		return nil, errors.New("the script defines no handler(request) function")
	case !ok:
		return starlark.None, nil
	}
	var args starlark.Tuple
	if ru.req.Entry == EntryHandler {
		in, err := decodeJSON(ru.thread, ru.req.Input)
		if err != nil {
			return nil, err
		}
		args = starlark.Tuple{in}
	}
	return starlark.Call(ru.thread, fn, args, nil)
}

// encode is the return value as JSON, within the output cap.
func (ru *run) encode(v starlark.Value) (json.RawMessage, error) {
	if v == starlark.None {
		return json.RawMessage("null"), nil
	}
	s, err := encodeJSON(ru.thread, v)
	if err != nil {
		return nil, fmt.Errorf("the return value cannot be JSON: %w", err)
	}
	if len(s) > ru.req.MaxOutput {
		ru.stop(FailOutput, "output limit exceeded")
		return nil, errors.New("output limit exceeded")
	}
	return json.RawMessage(s), nil
}

// failure explains err, raised by the run, to the script's author.
func (ru *run) failure(err error) *Failure {
	f := &Failure{Kind: FailError, Message: err.Error()}
	var ev *starlark.EvalError
	if errors.As(err, &ev) {
		f.Message = ev.Msg
		for i := range ev.CallStack {
			if pos := ev.CallStack.At(i).Pos; pos.Filename() == "script" {
				f.Line, f.Column = int(pos.Line), int(pos.Col)
				break
			}
		}
	}
	if k := ru.kind.Load(); k != nil {
		f.Kind, f.Message = *k, limitMessage(*k, ru.req)
	}
	return f
}

// limitMessage says which limit stopped a run.
func limitMessage(kind string, req runRequest) string {
	switch kind {
	case FailSteps:
		return fmt.Sprintf("the script ran more than %d steps and was stopped", req.MaxSteps)
	case FailTimeout:
		return fmt.Sprintf("the script ran longer than %s and was stopped", time.Duration(req.TimeoutMS)*time.Millisecond)
	case FailOutput:
		return fmt.Sprintf("the script's output (print, pq.log or its return value) exceeded %d KiB", req.MaxOutput>>10)
	}
	return "the script was stopped"
}

// panicFailure explains a panic inside the interpreter or a builtin: an
// allocation too large to even attempt is a memory failure.
func panicFailure(p any) *Failure {
	msg := fmt.Sprint(p)
	if err, ok := p.(error); ok && bytes.Contains([]byte(err.Error()), []byte("out of range")) {
		return &Failure{Kind: FailMemory, Message: "the script tried to allocate more memory than allowed"}
	}
	return &Failure{Kind: FailCrash, Message: "the script crashed the interpreter: " + msg}
}

// load serves load() of the allowed modules; Compile refused the others.
func load(_ *starlark.Thread, module string) (starlark.StringDict, error) {
	m, ok := loadable[module]
	if !ok {
		return nil, errors.New(loadRefusal(module))
	}
	return m.Members, nil
}

const runKey = "tenantry.run"

// runOf is the run a builtin was called from.
func runOf(thread *starlark.Thread) *run { return thread.Local(runKey).(*run) }
