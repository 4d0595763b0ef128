-- +goose Up
-- Functions every role may call by default that tenant SQL must not:
-- large-object writes (they persist, and can leave objects that keep a
-- tenant's roles from being dropped), advisory locks (the scheduler's
-- leadership and goose's migration lock live there), and WAL messages.
-- Only a superuser can change these grants; others get a notice (see
-- docs/architecture.md). tenantry's own role keeps the locks.
-- +goose StatementBegin
DO $$
DECLARE f regprocedure;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE NOTICE 'tenantry: not a superuser; tenant SQL can still call advisory-lock and large-object functions';
        RETURN;
    END IF;
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'pg_catalog' AND (p.proname ~ '^pg_(try_)?advisory'
            OR p.proname IN ('lo_create', 'lo_creat', 'lo_from_bytea', 'lo_put', 'lowrite', 'lo_truncate',
                             'lo_truncate64', 'lo_unlink', 'lo_open', 'pg_logical_emit_message'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        IF f::text ~ '^pg_(try_)?advisory' THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, current_user);
        END IF;
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
