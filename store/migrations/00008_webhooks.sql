-- +goose Up
-- Each account's built-in webhook URL carries a random token in its path.
-- The token's SHA-256 finds the account; the token itself is sealed
-- (AAD webhook_url:<account>) so GET /api/webhooks can show the URL
-- again. A rotated-out token keeps working until previous_until.
CREATE TABLE core.webhook_urls (
    account_id     text PRIMARY KEY REFERENCES core.accounts (id),
    partner_id     text NOT NULL REFERENCES core.partners (id),
    token_hash     bytea NOT NULL UNIQUE,
    token          bytea NOT NULL,
    previous_hash  bytea UNIQUE,
    previous_until timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    rotated_at     timestamptz NOT NULL DEFAULT now()
);

-- Inbound webhooks, one row per delivery id and source: a producer's
-- retry of the same delivery is the same row.
CREATE TABLE core.webhook_events (
    id            text PRIMARY KEY,                -- whk_<uuidv7>: time-ordered, the keyset
    partner_id    text NOT NULL REFERENCES core.partners (id),
    account_id    text NOT NULL REFERENCES core.accounts (id),
    connection_id text NOT NULL DEFAULT '',        -- '' for the account's own URL
    webhook_id    text NOT NULL,
    content_type  text NOT NULL DEFAULT '',
    headers       jsonb NOT NULL DEFAULT '{}',
    query         text NOT NULL DEFAULT '',
    body          bytea NOT NULL,
    status        text NOT NULL,                   -- received | processed | failed
    error         text NOT NULL DEFAULT '',
    attempts      int NOT NULL DEFAULT 0,          -- handler runs
    received_at   timestamptz NOT NULL,            -- when the api had it acknowledged by JetStream
    processed_at  timestamptz,
    stream_seq    bigint NOT NULL DEFAULT 0        -- WEBHOOKS sequence of the first delivery recorded
);
CREATE UNIQUE INDEX webhook_events_delivery ON core.webhook_events (account_id, connection_id, webhook_id);
CREATE INDEX webhook_events_partner ON core.webhook_events (partner_id, id);
CREATE INDEX webhook_events_account ON core.webhook_events (account_id, id);

-- A partner's notification endpoints; the Standard Webhooks secret is
-- sealed (AAD notification_endpoint:<id>).
CREATE TABLE core.notification_endpoints (
    id            text PRIMARY KEY,
    partner_id    text NOT NULL REFERENCES core.partners (id),
    url           text NOT NULL,
    events        text[] NOT NULL,
    secret        bytea NOT NULL,
    status        text NOT NULL DEFAULT 'active',  -- active | disabled
    status_reason text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE INDEX notification_endpoints_partner ON core.notification_endpoints (partner_id, id) WHERE deleted_at IS NULL;

-- One event for one endpoint, attempted until it succeeds or gives up.
CREATE TABLE core.notification_deliveries (
    id              text PRIMARY KEY,
    endpoint_id     text NOT NULL REFERENCES core.notification_endpoints (id),
    partner_id      text NOT NULL REFERENCES core.partners (id),
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    status          text NOT NULL DEFAULT 'pending',  -- pending | succeeded | failed
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_status     int NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX notification_deliveries_due ON core.notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_endpoint ON core.notification_deliveries (endpoint_id, id);

-- Every attempt of a delivery, for the partner to see.
CREATE TABLE core.notification_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  text NOT NULL REFERENCES core.notification_deliveries (id),
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    status_code  int NOT NULL DEFAULT 0,           -- 0 when no response arrived
    error        text NOT NULL DEFAULT '',
    duration_ms  int NOT NULL DEFAULT 0
);
CREATE INDEX notification_attempts_delivery ON core.notification_attempts (delivery_id, id);

-- +goose Down
DROP TABLE core.notification_attempts, core.notification_deliveries, core.notification_endpoints,
    core.webhook_events, core.webhook_urls;
