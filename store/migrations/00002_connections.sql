-- +goose Up
CREATE TABLE core.connections (
    id               text PRIMARY KEY,
    partner_id       text NOT NULL REFERENCES core.partners (id),
    account_id       text NOT NULL REFERENCES core.accounts (id),
    servertype_id    text NOT NULL,
    name             text NOT NULL,
    status           text NOT NULL,
    status_reason    text NOT NULL DEFAULT '',
    fields           jsonb NOT NULL DEFAULT '{}',  -- non-secret connect-form values
    secrets          bytea,                        -- sealed JSON: secret fields and OAuth tokens
    token_expires_at timestamptz,                  -- OAuth access token expiry
    refreshed_at     timestamptz,
    last_checked_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
CREATE INDEX connections_account ON core.connections (account_id, id) WHERE deleted_at IS NULL;
CREATE INDEX connections_token_expiry ON core.connections (token_expires_at)
    WHERE deleted_at IS NULL AND token_expires_at IS NOT NULL;

-- OAuth authorization requests in flight. Only the state's hash is kept;
-- the PKCE verifier is sealed.
CREATE TABLE core.oauth_states (
    state_hash    bytea PRIMARY KEY,
    connection_id text NOT NULL REFERENCES core.connections (id),
    verifier      bytea,
    redirect_uri  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX oauth_states_connection ON core.oauth_states (connection_id);

-- A partner's own OAuth app for a connector, overriding the operator's.
CREATE TABLE core.oauth_apps (
    partner_id    text NOT NULL REFERENCES core.partners (id),
    servertype_id text NOT NULL,
    client_id     text NOT NULL,
    client_secret bytea NOT NULL,  -- sealed
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, servertype_id)
);

-- Append-only, read newest-last by (connection, time, id).
CREATE TABLE core.connection_logs (
    id            bigserial PRIMARY KEY,
    connection_id text NOT NULL,
    account_id    text NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    level         text NOT NULL,
    message       text NOT NULL,
    job_id        text NOT NULL DEFAULT ''
);
CREATE INDEX connection_logs_keyset ON core.connection_logs (connection_id, at, id);

-- +goose Down
DROP TABLE core.connection_logs, core.oauth_apps, core.oauth_states, core.connections;
