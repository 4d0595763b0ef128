package script

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Failure kinds: why a run failed.
const (
	FailError   = "error"   // the script raised an error: fail(), a type error, a refused host call…
	FailSteps   = "steps"   // it ran more Starlark steps than allowed
	FailTimeout = "timeout" // it ran longer than the wall-clock limit
	FailMemory  = "memory"  // it needed more memory than allowed
	FailCPU     = "cpu"     // it used more CPU time than allowed
	FailOutput  = "output"  // it printed, or returned, more than allowed
	FailCrash   = "crash"   // its runner died for another reason
	// FailPlatform: the platform gave up on the run (no runner, an outage
	// outlasting the job's deliveries); the script may never have run.
	// The store writes it as a literal (it cannot import this package).
	FailPlatform = "platform"
)

// Failure is why a run failed: the script's doing, not the platform's.
// Message is safe to show to the script's author; Line and Column
// (1-based, 0 when unknown) point into the script.
type Failure struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

func (f *Failure) Error() string {
	if f.Line > 0 {
		return fmt.Sprintf("line %d: %s", f.Line, f.Message)
	}
	return f.Message
}

// Request is one run of a program.
type Request struct {
	Program *Program
	// Entry is EntryMain (the default: run the top level, then main() if
	// defined) or EntryHandler (then handler(Input), which must exist).
	Entry string
	// Input is the handler's argument as JSON (a JSON object becomes a
	// dict).
	Input json.RawMessage
	// Host performs the run's pq and http calls, for its tenant.
	Host Host
}

// Result is a finished run. Exactly one of Value (JSON of what main or
// handler returned; null when nothing) and Failure is meaningful.
type Result struct {
	Value    json.RawMessage `json:"value,omitempty"`
	Failure  *Failure        `json:"failure,omitempty"`
	Log      string          `json:"log"` // what the script printed and logged, at most Config.MaxOutput bytes
	Steps    uint64          `json:"steps"`
	Duration time.Duration   `json:"duration"`
	// Tuple is set when a handler returned a tuple, (status, body,
	// headers): Value is its JSON array. Binary is set when that body was
	// bytes, in Value as base64. See Response.
	Tuple  bool `json:"tuple,omitempty"`
	Binary bool `json:"binary,omitempty"`
}

// Host performs a run's host calls (pq.*, http.*) for the tenant the run
// belongs to; the runner has no way to reach anything itself. fn is one
// of the Fn* names; args and the answer are JSON objects. An error whose
// tenantry code is not EINTERNAL reaches the script with its message;
// any other reaches it as "internal error" and is logged. Call may be
// called from several goroutines (several runs) at once.
type Host interface {
	Call(ctx context.Context, fn string, args json.RawMessage) (json.RawMessage, error)
}

// Host call names.
const (
	FnFetch     = "fetch"      // {db, schema, table, where, limit} → {rows: [{column: value}]}
	FnInsert    = "insert"     // {db, schema, table, record} → {key}
	FnUpsert    = "upsert"     // {db, schema, table, key, record} → {key}
	FnGetSecret = "get_secret" // {name} → {value}
	FnHTTP      = "http"       // {method, url, headers, body} → {status, headers, body}
)
