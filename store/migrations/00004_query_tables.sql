-- +goose Up
-- Tenant SQL logs in as <schema>_sql, whose password is sealed here.
ALTER TABLE core.accounts ADD COLUMN sql_password bytea;

-- Named read-only SQL queries over a tenant's warehouse.
CREATE TABLE core.query_tables (
    id         text PRIMARY KEY,
    partner_id text NOT NULL REFERENCES core.partners (id),
    account_id text NOT NULL REFERENCES core.accounts (id),
    name       text NOT NULL,
    query      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- +goose Down
DROP TABLE core.query_tables;
ALTER TABLE core.accounts DROP COLUMN sql_password;
