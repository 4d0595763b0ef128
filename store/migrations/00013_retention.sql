-- +goose Up
-- Retention (store/retention.go): the scheduler leader deletes records
-- older than their configured age, oldest first, a bounded batch per
-- statement. These indexes find each batch without scanning the table.
-- Each is on columns that never change after insert, so the rows' own
-- updates (a run finishing, an event processed) stay HOT.
CREATE INDEX script_runs_created ON core.script_runs (created_at) WHERE webhook_event_id IS NULL;
-- A webhook event's handler runs, deleted with the event; also what the
-- foreign key check looks up when an event is deleted.
CREATE INDEX script_runs_webhook_event ON core.script_runs (webhook_event_id) WHERE webhook_event_id IS NOT NULL;
CREATE INDEX webhook_events_received ON core.webhook_events (received_at);
CREATE INDEX notification_deliveries_created ON core.notification_deliveries (created_at);
CREATE INDEX connection_logs_at ON core.connection_logs (at);
CREATE INDEX jobs_created ON core.jobs (created_at);

-- +goose Down
DROP INDEX core.jobs_created, core.connection_logs_at, core.notification_deliveries_created,
    core.webhook_events_received, core.script_runs_webhook_event, core.script_runs_created;
