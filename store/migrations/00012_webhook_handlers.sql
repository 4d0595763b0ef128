-- +goose Up
-- The interface whose handler(request) runs for each of an account's
-- inbound webhooks (its own URL's and its connections'). No row: the
-- account has none, and webhooks are recorded as processed.
CREATE TABLE core.webhook_handlers (
    account_id   text PRIMARY KEY REFERENCES core.accounts (id),
    partner_id   text NOT NULL REFERENCES core.partners (id),
    interface_id text NOT NULL REFERENCES core.interfaces (id),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A handler's runs are script runs without a job (trigger 'webhook'),
-- linked to their event; the event names its latest run.
ALTER TABLE core.script_runs ADD COLUMN webhook_event_id text REFERENCES core.webhook_events (id);
ALTER TABLE core.webhook_events ADD COLUMN run_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE core.webhook_events DROP COLUMN run_id;
DELETE FROM core.script_runs WHERE webhook_event_id IS NOT NULL;
ALTER TABLE core.script_runs DROP COLUMN webhook_event_id;
DROP TABLE core.webhook_handlers;
