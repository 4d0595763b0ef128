-- +goose Up
-- Finds a connection's open jobs (one refresh at a time is queued).
CREATE INDEX jobs_open_by_connection ON core.jobs ((payload->>'connection_id'), kind)
    WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX core.jobs_open_by_connection;
