-- +goose Up
-- The sync ledger: one row per run, the run's id is its job's.
CREATE TABLE core.sync_runs (
    id            text PRIMARY KEY REFERENCES core.jobs (id),
    connection_id text NOT NULL REFERENCES core.connections (id),
    partner_id    text NOT NULL,
    account_id    text NOT NULL,
    streams       text[] NOT NULL,      -- as requested; empty: the connector's (due) streams
    full_refresh  boolean NOT NULL,
    trigger       text NOT NULL,        -- api | schedule
    status        text NOT NULL DEFAULT 'queued',
    reason        text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
-- One sync at a time per connection.
CREATE UNIQUE INDEX sync_runs_one_active ON core.sync_runs (connection_id) WHERE status IN ('queued', 'running');
CREATE INDEX sync_runs_connection ON core.sync_runs (connection_id, created_at DESC, id DESC);

-- A run's progress through each of its streams, checkpointed with each
-- page in the transaction that writes the page.
CREATE TABLE core.sync_run_streams (
    run_id        text NOT NULL REFERENCES core.sync_runs (id),
    stream        text NOT NULL,
    position      int NOT NULL,
    tbl           text NOT NULL,
    status        text NOT NULL DEFAULT 'queued',
    reason        text NOT NULL DEFAULT '',
    checkpoint    text NOT NULL DEFAULT '',
    cursor_before text NOT NULL DEFAULT '',
    cursor_after  text NOT NULL DEFAULT '',
    pages         bigint NOT NULL DEFAULT 0,
    inserted      bigint NOT NULL DEFAULT 0,
    updated       bigint NOT NULL DEFAULT 0,
    deleted       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, stream)
);

-- What each stream of a connection has committed: the incremental cursor
-- the next sync asks from, and when it last finished.
CREATE TABLE core.sync_state (
    connection_id text NOT NULL REFERENCES core.connections (id),
    stream        text NOT NULL,
    cursor        text NOT NULL DEFAULT '',
    synced_at     timestamptz NOT NULL,
    PRIMARY KEY (connection_id, stream)
);

-- A connection's sync interval, run by the scheduler.
CREATE TABLE core.sync_schedules (
    connection_id text PRIMARY KEY REFERENCES core.connections (id),
    every_seconds int NOT NULL CHECK (every_seconds >= 60),
    next_at       timestamptz NOT NULL
);
CREATE INDEX sync_schedules_due ON core.sync_schedules (next_at);

-- +goose Down
DROP TABLE core.sync_schedules, core.sync_state, core.sync_run_streams, core.sync_runs;
