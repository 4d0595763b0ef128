package tenantry

import "time"

// Connection statuses: an honest state machine.
//
//	pending ──check ok──▶ active ◀──────────── degraded (transient failures)
//	   │                   │  ▲ └──failures──▶    │
//	   └──check failed──▶ error                   ▼
//	oauth_pending ──exchange ok──▶ active     needs_reauth (grant revoked/expired)
//	      └──denied/bad state/failed exchange──▶ error
const (
	ConnPending      = "pending"
	ConnOAuthPending = "oauth_pending"
	ConnActive       = "active"
	ConnDegraded     = "degraded"
	ConnNeedsReauth  = "needs_reauth"
	ConnError        = "error"
)

// Connection is an end-customer's connection to a third-party app (a
// "server" in the public API), made from a connector definition
// (its "servertype"). Fields holds the non-secret connect-form values;
// secrets are sealed in the store and never leave it.
type Connection struct {
	ID            string            `json:"id"`
	PartnerID     string            `json:"-"`
	AccountID     string            `json:"-"`
	ServerTypeID  string            `json:"servertype_id"`
	Name          string            `json:"name"`
	Status        string            `json:"status"`
	StatusReason  string            `json:"status_reason"`
	Fields        map[string]string `json:"fields"`
	LastCheckedAt *time.Time        `json:"last_checked_at"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Connection command kinds.
const (
	KindConnectionCheck   = "connection.check"
	KindOAuthExchange     = "connection.oauth_exchange"
	KindConnectionRefresh = "connection.refresh"
)

// LogLine is one line of a connection's log.
type LogLine struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	JobID   string    `json:"job_id"`
}

// LogFilter narrows a connection's log.
type LogFilter struct {
	Level string    // "" for all, else info|warn|error
	Since time.Time // zero for all
	Page
}
