// Package events is tenantry's JetStream adapter: the stream definitions
// (COMMANDS, EVENTS, WEBHOOKS, DLQ), the publisher that sets Nats-Msg-Id
// so re-publishing is harmless, the consumer runner that turns a
// handler's return value into Ack, Nak with backoff, or Term plus a copy
// to the DLQ, and the embedded nats-server used by `tenantry dev` and
// the tests.
package events
