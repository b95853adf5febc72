-- Substring filters (`co`, `ew`) of three characters or more are narrowed by trigram indexes
-- before the exact comparison runs (store::filter_sql; docs/scim-details.md, "Filters and
-- indexes"). PostgreSQL's are pg_trgm GIN indexes on the very expressions the filter SQL
-- compares (`lower(x) LIKE ...` uses an index on `lower(x)`), so the planner finds them with
-- no change to the SQL. pg_trgm is a trusted extension (PostgreSQL 13+: any user with CREATE
-- on the database may add it); where it cannot be added, the migration still succeeds and
-- these filters scan as before.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): co/ew filters will not use trigram indexes', SQLERRM;
END
$$;

DO $$
DECLARE
    ops TEXT;
BEGIN
    SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO ops
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF ops IS NULL THEN
        RETURN;
    END IF;
    -- The columns `scim::storage` marks with a trigram index, as `filter_sql` compares them.
    EXECUTE format('CREATE INDEX users_trgm_user_name ON users USING gin (user_name_lower %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_display_name ON users USING gin (display_name_lower %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_name_given ON users USING gin (lower(name_given) %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_name_family ON users USING gin (lower(name_family) %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_name_formatted ON users USING gin (lower(name_formatted) %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_external_id ON users USING gin (external_id %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_title ON users USING gin (lower(title) %s)', ops);
    EXECUTE format('CREATE INDEX users_trgm_department ON users USING gin (lower(department) %s)', ops);
    -- Emails only (the filter names the attribute as a literal, which the planner matches).
    EXECUTE format('CREATE INDEX user_values_trgm_emails ON user_values USING gin (value_lower %s) '
                   'WHERE attribute = ''emails''', ops);
END
$$;
