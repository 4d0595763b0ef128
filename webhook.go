package tenantry

import (
	"context"
	"net/http"
	"time"
)

// Webhook event statuses.
//
//	received ──handler ok (or none)──▶ processed
//	    └──────handler failed for good──▶ failed ──replay/redrive──▶ received
const (
	WebhookReceived  = "received"  // recorded; the handler has not finished
	WebhookProcessed = "processed" // recorded and handled (or no handler is configured)
	WebhookFailed    = "failed"    // the handler failed for good; a replay or redrive runs it again
)

// EventWebhookFailed is the event emitted when a webhook's handler fails
// for good.
const EventWebhookFailed = "webhook.failed"

// WebhookEvent is one inbound webhook as received: the raw body and
// headers the signature covered, whom it is for, and what became of it.
// It is identified by (AccountID, ConnectionID, WebhookID): the same
// delivery sent twice is one event.
type WebhookEvent struct {
	ID           string      `json:"id"`
	PartnerID    string      `json:"-"`
	AccountID    string      `json:"subaccount_id"`
	ConnectionID string      `json:"server_id"`  // "" for the account's own URL (connections are "servers" in the API)
	WebhookID    string      `json:"webhook_id"` // the producer's delivery id, or one tenantry made
	ContentType  string      `json:"content_type"`
	Header       http.Header `json:"headers"`
	Query        string      `json:"query"`
	Body         []byte      `json:"-"`
	Size         int         `json:"size"`
	Status       string      `json:"status"`
	Error        string      `json:"error"`
	Attempts     int         `json:"attempts"`
	ReceivedAt   time.Time   `json:"received_at"`
	ProcessedAt  *time.Time  `json:"processed_at"`
	RunID        string      `json:"run_id"` // the latest run of the account's handler script; "" when none ran
	RequestID    string      `json:"-"`
	StreamSeq    uint64      `json:"-"` // the WEBHOOKS message that owns the handler's runs (see worker.Webhooks)
}

// TriggerWebhook is the trigger of a script run made by the account's
// webhook handler for an inbound webhook.
const TriggerWebhook = "webhook"

// WebhookFilter narrows a listing of webhook events; zero fields match
// everything.
type WebhookFilter struct {
	AccountID    string // a partner may narrow to one of its accounts
	ConnectionID string
	Status       string
	Since, Until time.Time // received_at in [Since, Until)
	Page
}

// WebhookHandler runs an account's webhook handler (the handler(request)
// of the interface the account configured) on a recorded event; the
// worker's script handler implements it. It returns nil when the
// account has no handler. Its error decides the delivery's fate as a
// consumer handler's does (wrap with events.Permanent for no retry). It
// may run more than once for one event (a redelivery after a crash, a
// replay of a failed event), so handlers must tolerate that. It must be
// safe for concurrent use.
type WebhookHandler interface {
	HandleWebhook(ctx context.Context, ev *WebhookEvent) error
}
