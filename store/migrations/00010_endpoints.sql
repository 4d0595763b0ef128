-- +goose Up
-- Published endpoints: a method and path under an account's URL prefix
-- (/endpoints/{account}) bound to an interface's handler(request).
CREATE TABLE core.endpoints (
    id           text PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES core.partners (id),
    account_id   text NOT NULL REFERENCES core.accounts (id),
    interface_id text NOT NULL REFERENCES core.interfaces (id),
    path         text NOT NULL,               -- "/orders": exact match, no parameters
    method       text NOT NULL,               -- GET | POST | PUT | PATCH | DELETE
    auth         text NOT NULL CHECK (auth IN ('jwt', 'public')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
-- The API's lookup of a call: (account, path), every method at once.
CREATE UNIQUE INDEX endpoints_route ON core.endpoints (account_id, path, method) WHERE deleted_at IS NULL;
CREATE INDEX endpoints_partner ON core.endpoints (partner_id, id) WHERE deleted_at IS NULL;

-- Endpoint calls are script runs without a job: job_id is '' for them,
-- and stays unique among the others. The index leads with job_id so that
-- lookups by job (job_id = $1) use it whatever the plan; a partial index
-- (WHERE job_id <> '') would be unusable to a generic plan.
ALTER TABLE core.script_runs ADD COLUMN endpoint_id text REFERENCES core.endpoints (id);
ALTER TABLE core.script_runs DROP CONSTRAINT script_runs_job_id_key;
CREATE UNIQUE INDEX script_runs_job ON core.script_runs (job_id, (CASE WHEN job_id = '' THEN id ELSE '' END));

-- +goose Down
DELETE FROM core.script_runs WHERE job_id = '';
DROP INDEX core.script_runs_job;
ALTER TABLE core.script_runs ADD CONSTRAINT script_runs_job_id_key UNIQUE (job_id);
ALTER TABLE core.script_runs DROP COLUMN endpoint_id;
DROP TABLE core.endpoints;
