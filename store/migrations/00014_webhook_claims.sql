-- +goose Up
-- The delivery running a webhook's handler claims the event until then,
-- so a second delivery of the same message (one JetStream delivered
-- again while the first was still held) does not run it at once too.
ALTER TABLE core.webhook_events ADD COLUMN claimed_until timestamptz;

-- +goose Down
ALTER TABLE core.webhook_events DROP COLUMN claimed_until;
