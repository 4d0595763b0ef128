package tenantry

import "time"

// KindSync is the command kind of a sync run: pull a connection's
// streams into its tenant's warehouse.
const KindSync = "sync.run"

// Sync run outcomes. A run is queued, then running, then ends in one of
// the last three; partial means some streams succeeded and some failed.
const (
	SyncQueued    = "queued"
	SyncRunning   = "running"
	SyncSucceeded = "succeeded"
	SyncPartial   = "partial"
	SyncFailed    = "failed"
)

// Events of a finished sync run. A partial run emits sync.failed: some
// data the partner asked for did not arrive.
const (
	EventSyncSucceeded = "sync.succeeded"
	EventSyncFailed    = "sync.failed"
)

// Sync run triggers.
const (
	SyncTriggerAPI      = "api"
	SyncTriggerSchedule = "schedule"
)

// SyncRun is the ledger entry of one sync of a connection. Its ID is its
// job's id. Totals add up its streams'.
type SyncRun struct {
	ID           string       `json:"id"`
	JobID        string       `json:"job_id"`
	ConnectionID string       `json:"connection_id"`
	AccountID    string       `json:"-"`
	PartnerID    string       `json:"-"`
	Trigger      string       `json:"trigger"`
	FullRefresh  bool         `json:"full_refresh"`
	Status       string       `json:"status"`
	Reason       string       `json:"reason"`
	Pages        int64        `json:"pages"`
	Inserted     int64        `json:"inserted"`
	Updated      int64        `json:"updated"`
	Deleted      int64        `json:"deleted"`
	CreatedAt    time.Time    `json:"created_at"`
	StartedAt    *time.Time   `json:"started_at"`
	FinishedAt   *time.Time   `json:"finished_at"`
	DurationMS   *int64       `json:"duration_ms"`
	Streams      []SyncStream `json:"streams"`
}

// SyncStream is a run's progress through one stream. Checkpoint, where
// the next page starts, is internal.
type SyncStream struct {
	Stream       string `json:"stream"`
	Status       string `json:"status"` // queued|running|succeeded|failed
	Reason       string `json:"reason"`
	Table        string `json:"table"`
	CursorBefore string `json:"cursor_before"`
	CursorAfter  string `json:"cursor_after"`
	Pages        int64  `json:"pages"`
	Inserted     int64  `json:"inserted"`
	Updated      int64  `json:"updated"`
	Deleted      int64  `json:"deleted"`
	Checkpoint   string `json:"-"`
}

// SyncRequest asks for a sync of a connection. No Streams means every
// stream of its connector (for a scheduled run: every stream that is due).
type SyncRequest struct {
	Streams     []string `json:"streams"`
	FullRefresh bool     `json:"full_refresh"`
	RequestID   string   `json:"-"` // the API request that asked, for the logs
}
