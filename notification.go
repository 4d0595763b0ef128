package tenantry

import (
	"slices"
	"time"
)

// Notification endpoint statuses. An endpoint is disabled when it
// answers 410 Gone; the partner enables it again.
const (
	EndpointActive   = "active"
	EndpointDisabled = "disabled"
)

// Notification delivery statuses.
//
//	pending ──2xx──▶ succeeded
//	   └──410, or out of attempts──▶ failed ──manual retry──▶ pending
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// NotifiableEvents are the event types a partner can subscribe an
// endpoint to; "*" subscribes to all of them.
var NotifiableEvents = []string{
	EventSubaccountProvisioned, EventSubaccountDeleted,
	"server.connected", "server.degraded", "server.needs_reauth", "server.error", "server.deleted",
	EventSyncSucceeded, EventSyncFailed, "script.failed", EventWebhookFailed, EventJobFailed,
}

// Notifiable reports whether an endpoint may subscribe to event type
// typ.
func Notifiable(typ string) bool { return typ == "*" || slices.Contains(NotifiableEvents, typ) }

// NotificationEndpoint is a partner's URL that receives the events it
// subscribed to, signed per Standard Webhooks with its own secret.
type NotificationEndpoint struct {
	ID           string    `json:"id"`
	PartnerID    string    `json:"-"`
	URL          string    `json:"url"`
	Events       []string  `json:"events"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason"`
	Secret       string    `json:"secret,omitempty"` // whsec_…; only in the answer that creates the endpoint
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NotificationDelivery is one event on its way to one endpoint, and every
// attempt so far.
type NotificationDelivery struct {
	ID            string                `json:"id"`
	EndpointID    string                `json:"endpoint_id"`
	PartnerID     string                `json:"-"`
	EventID       string                `json:"event_id"`
	EventType     string                `json:"event_type"`
	Status        string                `json:"status"`
	Attempts      int                   `json:"attempts"`
	NextAttemptAt *time.Time            `json:"next_attempt_at"` // set while pending
	LastStatus    int                   `json:"last_status"`     // the last HTTP status; 0 if none arrived
	LastError     string                `json:"last_error"`
	CreatedAt     time.Time             `json:"created_at"`
	UpdatedAt     time.Time             `json:"updated_at"`
	AttemptLog    []NotificationAttempt `json:"attempt_log,omitempty"` // one delivery's view only
}

// NotificationAttempt is one try at a delivery.
type NotificationAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"` // 0 when no response arrived
	Error      string    `json:"error"`
	DurationMS int       `json:"duration_ms"`
}

// DeliveryFilter narrows a listing of notification deliveries.
type DeliveryFilter struct {
	EndpointID string
	Status     string
	Page
}
