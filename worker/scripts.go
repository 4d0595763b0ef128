package worker

import (
	"context"
	"errors"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/store"
)

// Scripts is what the worker runs tenant scripts with.
type Scripts struct {
	Pool     *script.Pool     // started and stopped by the caller
	Platform *script.Platform // the scripts' pq and http
}

// UseScripts makes the worker run script.run commands. Call it before
// Start.
func (w *Worker) UseScripts(s Scripts) { w.appliers[tenantry.KindScriptRun] = w.scriptRun(s) }

// scriptRun runs an interface's script and records the run and its job
// in one transaction. A script that fails is a failed run and job, not
// a retry; only a run that could not happen (no runner, the worker
// stopping) is retried. A redelivery after a crash mid-run runs the
// script again: scripts run at least once.
func (w *Worker) scriptRun(s Scripts) apply {
	return func(ctx context.Context, cmd tenantry.Command) ([]tenantry.Message, error) {
		var work *store.ScriptWork
		err := w.await(ctx, func() (err error) { work, err = w.store.StartScriptRun(ctx, cmd.JobID); return err })
		if tenantry.ErrorCode(err) == tenantry.ENOTFOUND {
			return nil, w.await(ctx, func() error { return w.store.FailScriptRun(ctx, cmd.JobID, tenantry.ErrorMessage(err)) })
		}
		if err != nil {
			return nil, err
		}
		o, err := runScript(ctx, s, work)
		if err != nil {
			return nil, err
		}
		return nil, w.await(ctx, func() error { return w.store.FinishScriptRun(ctx, cmd.JobID, o) })
	}
}

// runScript compiles (through the pool's cache) and runs work's script.
func runScript(ctx context.Context, s Scripts, work *store.ScriptWork) (store.RunOutcome, error) {
	prog, err := s.Pool.Compile(work.Code)
	var ce *script.CompileError
	if errors.As(err, &ce) { // stored before a change of dialect, say
		return store.RunOutcome{Error: &tenantry.RunError{Kind: script.FailError, Message: ce.Msg, Line: ce.Line, Column: ce.Column}}, nil
	}
	if err != nil {
		return store.RunOutcome{}, err
	}
	res, err := s.Pool.Run(ctx, script.Request{Program: prog, Host: s.Platform.For(work.AccountID)})
	if err != nil {
		return store.RunOutcome{}, err
	}
	o := store.RunOutcome{Log: res.Log, Result: res.Value, Steps: int64(res.Steps), DurationMS: res.Duration.Milliseconds()}
	if f := res.Failure; f != nil {
		o.Result, o.Error = nil, &tenantry.RunError{Kind: f.Kind, Message: f.Message, Line: f.Line, Column: f.Column}
	}
	return o, nil
}
