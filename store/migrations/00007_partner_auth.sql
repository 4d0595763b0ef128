-- +goose Up
-- Partner API keys. Only the SHA-256 of a key is kept (a key has 256 bits
-- of entropy, so a fast hash is enough); prefix is its visible start.
CREATE TABLE core.api_keys (
    id           text PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES core.partners (id),
    name         text NOT NULL,
    role         text NOT NULL,
    prefix       text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_partner ON core.api_keys (partner_id, id);

-- Recorded tokens: besides the non-expiring ones, the tokens exchanged for
-- an API key (revoked with it, never revived by a reactivation). kid is
-- the signing key, which is kept while a live recorded token needs it.
ALTER TABLE core.tokens
    ADD COLUMN key_id     text REFERENCES core.api_keys (id) ON DELETE CASCADE,
    ADD COLUMN kid        text,
    ADD COLUMN expires_at timestamptz;
CREATE INDEX tokens_key ON core.tokens (key_id) WHERE key_id IS NOT NULL;
CREATE INDEX tokens_expires ON core.tokens (expires_at) WHERE expires_at IS NOT NULL;

-- A rotated-in signing key is published (JWKS, every replica) before it
-- signs; a key is retired once nothing it signed can still be valid.
ALTER TABLE core.signing_keys ADD COLUMN activates_at timestamptz NOT NULL DEFAULT now();

-- Ids of consumed single-use tokens: the primary key makes consumption
-- atomic. Kept until the token would have expired anyway.
CREATE TABLE core.used_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX used_tokens_expires ON core.used_tokens (expires_at);

-- Rate-limit counters shared by every API replica: one row per
-- credential, route class and window. Unlogged: a crash only resets them.
CREATE UNLOGGED TABLE core.rate_counters (
    key        text NOT NULL,
    win        bigint NOT NULL,
    count      bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (key, win)
);
CREATE INDEX rate_counters_expires ON core.rate_counters (expires_at);

-- The users of an end-customer account.
CREATE TABLE core.users (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES core.accounts (id),
    email         text NOT NULL,
    role          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_account_email ON core.users (account_id, lower(email));

-- Invitations to an account; the accept link's secret is kept as its
-- SHA-256 only. accepted_at makes the link single-use.
CREATE TABLE core.invitations (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES core.accounts (id),
    email       text NOT NULL,
    role        text NOT NULL,
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    user_id     text REFERENCES core.users (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX invitations_account ON core.invitations (account_id, id);

-- OAuth2 authorization server: third-party apps (clients) of a partner,
-- consents in progress, grants (one per consent: its code, then a family
-- of refresh tokens) and refresh tokens. Secrets, codes and tokens are
-- stored as SHA-256 hashes only.
CREATE TABLE core.oauth_clients (
    id            text PRIMARY KEY,
    partner_id    text NOT NULL REFERENCES core.partners (id),
    name          text NOT NULL,
    redirect_uris text[] NOT NULL,
    secret_hash   bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_clients_partner ON core.oauth_clients (partner_id, id);

CREATE TABLE core.oauth_consents (
    hash           bytea PRIMARY KEY,
    client_id      text NOT NULL REFERENCES core.oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    state          text NOT NULL,
    user_ids       text[] NOT NULL,
    expires_at     timestamptz NOT NULL
);

CREATE TABLE core.oauth_grants (
    id              text PRIMARY KEY,
    client_id       text NOT NULL REFERENCES core.oauth_clients (id) ON DELETE CASCADE,
    account_id      text NOT NULL REFERENCES core.accounts (id),
    user_id         text NOT NULL REFERENCES core.users (id),
    code_hash       bytea NOT NULL UNIQUE,
    redirect_uri    text NOT NULL,
    code_challenge  text NOT NULL,
    code_expires_at timestamptz NOT NULL,
    code_used_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

CREATE TABLE core.oauth_refresh_tokens (
    hash       bytea PRIMARY KEY,
    grant_id   text NOT NULL REFERENCES core.oauth_grants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oauth_refresh_tokens_grant ON core.oauth_refresh_tokens (grant_id);

-- Access tokens are recorded with their grant, which revokes them.
ALTER TABLE core.tokens ADD COLUMN grant_id text REFERENCES core.oauth_grants (id) ON DELETE CASCADE;
CREATE INDEX tokens_grant ON core.tokens (grant_id) WHERE grant_id IS NOT NULL;

-- +goose Down
ALTER TABLE core.tokens DROP COLUMN grant_id;
DROP TABLE core.oauth_refresh_tokens, core.oauth_grants, core.oauth_consents, core.oauth_clients;
DROP TABLE core.invitations, core.users, core.rate_counters, core.used_tokens;
ALTER TABLE core.signing_keys DROP COLUMN activates_at;
ALTER TABLE core.tokens DROP COLUMN key_id, DROP COLUMN kid, DROP COLUMN expires_at;
DROP TABLE core.api_keys;
