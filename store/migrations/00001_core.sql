-- +goose Up
CREATE TABLE core.partners (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    cors_origins text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.accounts (
    id            text PRIMARY KEY,
    partner_id    text NOT NULL REFERENCES core.partners (id),
    external_id   text NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    language      text NOT NULL DEFAULT '',
    company_name  text NOT NULL DEFAULT '',
    status        text NOT NULL,
    status_reason text NOT NULL DEFAULT '',
    schema_name   text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
-- external_id is unique per partner among live accounts: a deleted
-- account's external_id may be reused.
CREATE UNIQUE INDEX accounts_partner_external ON core.accounts (partner_id, external_id)
    WHERE deleted_at IS NULL;
CREATE INDEX accounts_partner_id ON core.accounts (partner_id, id);

-- Tokens that must be checked on use: the non-expiring (revocable) ones.
CREATE TABLE core.tokens (
    id         text PRIMARY KEY,
    kind       text NOT NULL,
    partner_id text NOT NULL REFERENCES core.partners (id),
    account_id text REFERENCES core.accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX tokens_partner ON core.tokens (partner_id);

-- JWT signing keys; private keys sealed under the master key.
CREATE TABLE core.signing_keys (
    kid         text PRIMARY KEY,
    private_key bytea NOT NULL,
    public_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

CREATE TABLE core.jobs (
    id          text PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES core.partners (id),
    account_id  text REFERENCES core.accounts (id),
    kind        text NOT NULL,
    status      text NOT NULL DEFAULT 'queued',
    attempts    int NOT NULL DEFAULT 0,
    error       text NOT NULL DEFAULT '',
    payload     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_partner ON core.jobs (partner_id, id);

-- The transactional outbox: every command and event is written here in
-- the transaction that decides it, published after commit, and
-- re-published by the scheduler if the publish did not happen.
CREATE TABLE core.outbox (
    id           text PRIMARY KEY,
    subject      text NOT NULL,
    headers      jsonb NOT NULL DEFAULT '{}',
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON core.outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE core.idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       int,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- What was done to whom, one row per applied effect.
CREATE TABLE core.audit_log (
    id         bigserial PRIMARY KEY,
    partner_id text NOT NULL,
    account_id text,
    action     text NOT NULL,
    job_id     text,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_account ON core.audit_log (account_id, at);

-- +goose Down
DROP TABLE core.audit_log, core.idempotency_keys, core.outbox, core.jobs,
    core.signing_keys, core.tokens, core.accounts, core.partners;
