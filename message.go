package tenantry

import (
	"encoding/json"
	"time"
)

// Message headers set on everything tenantry publishes.
const (
	HeaderJob       = "Tenantry-Job"
	HeaderTenant    = "Tenantry-Tenant"
	HeaderKind      = "Tenantry-Kind"
	HeaderRequestID = "Tenantry-Request-Id"
)

// Message is something to publish: a command or an event. It is written to
// the outbox in the transaction that decides it and published after
// commit with Nats-Msg-Id = ID, so publishing it again is harmless.
type Message struct {
	ID      string
	Subject string
	Header  map[string]string
	Data    []byte
}

// Message returns the command as a message for the COMMANDS stream.
func (c Command) Message() Message {
	data, _ := json.Marshal(c) // a struct of strings and raw JSON: cannot fail
	return Message{ID: c.JobID, Subject: c.Subject(), Data: data, Header: map[string]string{
		HeaderJob: c.JobID, HeaderTenant: tenant(c.AccountID, c.PartnerID), HeaderKind: c.Kind, HeaderRequestID: c.RequestID,
	}}
}

// Event types on the EVENTS stream.
const (
	EventSubaccountProvisioned = "subaccount.provisioned"
	EventSubaccountDeleted     = "subaccount.deleted"
	EventJobFailed             = "job.failed"
)

// Event is a fact that happened, published on evt.<tenant>.<type>.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	PartnerID string          `json:"partner_id"`
	AccountID string          `json:"account_id,omitempty"`
	JobID     string          `json:"job_id,omitempty"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Message returns the event as a message for the EVENTS stream.
func (e Event) Message() Message {
	data, _ := json.Marshal(e)
	t := tenant(e.AccountID, e.PartnerID)
	return Message{ID: e.ID, Subject: "evt." + t + "." + e.Type, Data: data, Header: map[string]string{
		HeaderJob: e.JobID, HeaderTenant: t, HeaderKind: e.Type,
	}}
}
