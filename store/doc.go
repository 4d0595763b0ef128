// Package store is tenantry's Postgres adapter (pgx v5). It owns the core
// schema (embedded goose migrations, applied under an advisory lock), the
// per-tenant schemas and roles, and the transactional outbox: every
// accepted command and every event is written in the same transaction as
// the decision that produced it, then published after commit.
//
// Every read a request makes is scoped to its tenantry.Caller; driver
// errors are translated to tenantry errors here and nowhere else.
package store
