package tenantry

import (
	"encoding/json"
	"time"
)

// KindScriptRun is the command kind that runs an interface's script.
const KindScriptRun = "script.run"

// Interface is a tenant script (an "interface" in the public API): a
// Starlark program run on demand, on a schedule, or for a published
// endpoint, with the platform (pq, http) scoped to its account.
type Interface struct {
	ID        string     `json:"id"`
	PartnerID string     `json:"-"`
	AccountID string     `json:"-"`
	Name      string     `json:"name"`
	RawCode   string     `json:"raw_code"`
	Schedule  string     `json:"schedule"`    // "" (on demand), seconds such as "3600", or a cron expression
	NextRunAt *time.Time `json:"next_run_at"` // the next scheduled slot; nil when unscheduled
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// InterfaceFields are the editable fields of an interface; nil means
// "not given". NextRunAt goes with Schedule: the store keeps both.
type InterfaceFields struct {
	Name      *string
	RawCode   *string
	Schedule  *string
	NextRunAt *time.Time
}

// Script run triggers.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
)

// ScriptRun is one run of an interface. Its Status is a job status
// (queued, running, succeeded, failed).
type ScriptRun struct {
	ID          string          `json:"id"`
	InterfaceID string          `json:"interface_id"`
	JobID       string          `json:"job_id"`
	Trigger     string          `json:"trigger"`
	Slot        *time.Time      `json:"slot,omitempty"` // the schedule slot a scheduled run is for
	Status      string          `json:"status"`
	Log         string          `json:"log"`              // what the script printed and logged, truncated to the last 64 KiB
	Result      json.RawMessage `json:"result,omitempty"` // what main() returned, as JSON
	Error       *RunError       `json:"error"`
	Steps       int64           `json:"steps"`
	DurationMS  int64           `json:"duration_ms"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
}

// RunError is why a run failed: Kind is one of script's Fail* kinds;
// Line and Column (0 when unknown) point into the script.
type RunError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}
