// Package handlers is tenantry's HTTP API: the chi router, its middleware
// (request ids, logging and metrics, panic recovery, CORS,
// authentication, idempotency keys) and one file per resource. Handlers
// return errors; one table maps error codes to HTTP statuses and every
// error leaves as an RFC 9457 problem document. Work that takes time is
// committed to Postgres (the job and its command in the outbox) before
// the 202 and published to JetStream after commit.
package handlers
