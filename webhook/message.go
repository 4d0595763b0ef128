package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenantry/tenantry"
)

// HeaderMeta carries, as JSON, everything about an inbound webhook but
// its body, which is the message's data byte for byte.
const HeaderMeta = "Tenantry-Webhook"

// KindWebhook is the Tenantry-Kind of messages on the WEBHOOKS stream.
const KindWebhook = "webhook"

// AccountSource is the subject token of webhooks sent to an account's
// own URL; a connection's webhooks use the connection id.
const AccountSource = "account"

// meta is the JSON of HeaderMeta.
type meta struct {
	ID           string      `json:"id"`
	PartnerID    string      `json:"partner_id"`
	AccountID    string      `json:"account_id"`
	ConnectionID string      `json:"connection_id,omitempty"`
	WebhookID    string      `json:"webhook_id"`
	ContentType  string      `json:"content_type,omitempty"`
	Header       http.Header `json:"headers,omitempty"`
	Query        string      `json:"query,omitempty"`
	ReceivedAt   time.Time   `json:"received_at"`
}

// Subject is hook.<account>.<source>, the source being the connection
// id or AccountSource.
func Subject(accountID, connectionID string) string {
	if connectionID == "" {
		connectionID = AccountSource
	}
	return "hook." + accountID + "." + connectionID
}

// Message returns ev as a message for the WEBHOOKS stream. Its id, the
// Nats-Msg-Id, is the subject and the delivery id: a producer sending
// the same delivery again within the duplicate window is dropped by
// JetStream (and after it, by the worker's record of the webhook id).
func Message(ev *tenantry.WebhookEvent) tenantry.Message {
	raw, _ := json.Marshal(meta{ID: ev.ID, PartnerID: ev.PartnerID, AccountID: ev.AccountID, // plain data: cannot fail
		ConnectionID: ev.ConnectionID, WebhookID: ev.WebhookID, ContentType: ev.ContentType, Header: ev.Header,
		Query: ev.Query, ReceivedAt: ev.ReceivedAt})
	subject := Subject(ev.AccountID, ev.ConnectionID)
	return tenantry.Message{ID: subject + "/" + ev.WebhookID, Subject: subject, Data: ev.Body, Header: map[string]string{
		HeaderMeta: string(raw), tenantry.HeaderTenant: ev.AccountID, tenantry.HeaderKind: KindWebhook,
		tenantry.HeaderRequestID: ev.RequestID,
	}}
}

// Key is the identity of the webhook a WEBHOOKS message carries, read
// from its subject and its id (Nats-Msg-Id) as Message made them, without
// decoding the rest: what a replay needs to ask whether it was processed.
// ok is false for any other message.
func Key(subject, msgID string) (accountID, connectionID, webhookID string, ok bool) {
	tokens := strings.Split(subject, ".")
	if len(tokens) != 3 || tokens[0] != "hook" || tokens[1] == "" || tokens[2] == "" {
		return "", "", "", false
	}
	webhookID, found := strings.CutPrefix(msgID, subject+"/")
	if !found || webhookID == "" {
		return "", "", "", false
	}
	if connectionID = tokens[2]; connectionID == AccountSource {
		connectionID = ""
	}
	return tokens[1], connectionID, webhookID, true
}

// Decode reads the event a WEBHOOKS message carries. An error means the
// message is not one (it can never be processed).
func Decode(header map[string][]string, data []byte) (*tenantry.WebhookEvent, error) {
	var raw string
	if v := header[HeaderMeta]; len(v) > 0 {
		raw = v[0]
	}
	var m meta
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("decode %s header: %w", HeaderMeta, err)
	}
	if m.ID == "" || m.AccountID == "" || m.PartnerID == "" || m.WebhookID == "" {
		return nil, fmt.Errorf("%s header lacks an id, account, partner or webhook id", HeaderMeta)
	}
	var reqID string
	if v := header[tenantry.HeaderRequestID]; len(v) > 0 {
		reqID = v[0]
	}
	return &tenantry.WebhookEvent{ID: m.ID, PartnerID: m.PartnerID, AccountID: m.AccountID, ConnectionID: m.ConnectionID,
		WebhookID: m.WebhookID, ContentType: m.ContentType, Header: m.Header, Query: m.Query, Body: data, Size: len(data),
		ReceivedAt: m.ReceivedAt, RequestID: reqID}, nil
}
