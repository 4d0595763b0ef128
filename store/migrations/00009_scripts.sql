-- +goose Up
-- Tenant scripts ("interfaces" in the API) and their runs.
CREATE TABLE core.interfaces (
    id          text PRIMARY KEY,
    partner_id  text NOT NULL REFERENCES core.partners (id),
    account_id  text NOT NULL REFERENCES core.accounts (id),
    name        text NOT NULL,
    raw_code    text NOT NULL,
    schedule    text NOT NULL DEFAULT '',  -- '' | seconds ('3600') | a cron expression
    next_run_at timestamptz,               -- the next schedule slot; NULL when unscheduled
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE UNIQUE INDEX interfaces_account_name ON core.interfaces (account_id, name) WHERE deleted_at IS NULL;
CREATE INDEX interfaces_account ON core.interfaces (account_id, id) WHERE deleted_at IS NULL;
CREATE INDEX interfaces_due ON core.interfaces (next_run_at) WHERE deleted_at IS NULL AND next_run_at IS NOT NULL;

CREATE TABLE core.script_runs (
    id           text PRIMARY KEY,
    interface_id text NOT NULL REFERENCES core.interfaces (id),
    partner_id   text NOT NULL REFERENCES core.partners (id),
    account_id   text NOT NULL REFERENCES core.accounts (id),
    job_id       text NOT NULL UNIQUE,
    trigger      text NOT NULL,               -- manual | schedule
    slot         timestamptz,                 -- the schedule slot a scheduled run is for
    status       text NOT NULL DEFAULT 'queued',
    log          text NOT NULL DEFAULT '',
    result       jsonb,
    error        jsonb,                       -- {kind, message, line, column}
    steps        bigint NOT NULL DEFAULT 0,
    duration_ms  bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    -- One run per schedule slot, whatever the number of schedulers.
    UNIQUE (interface_id, slot)
);
CREATE INDEX script_runs_interface ON core.script_runs (interface_id, id);

-- +goose Down
DROP TABLE core.script_runs;
DROP TABLE core.interfaces;
