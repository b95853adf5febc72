-- How many users each organization has, and a generation that moves on every user insert or
-- delete: kept by triggers in the transaction of the change, whichever path writes users
-- (every dialect, Bulk, imports). An unfiltered SCIM list reads its exact totalResults here
-- instead of counting the organization's users, and knows whether its cached page
-- boundaries (store::paging) still hold. Each statement adds to one of 16 slots picked at
-- random, so concurrent creates in one organization rarely wait on the same row; readers
-- sum the slots. Statement-level triggers: a multi-row INSERT (Bulk) is one upsert per
-- organization, not one per row. No foreign key: rows of a deleted organization are left
-- at zero.
CREATE TABLE org_user_counts (
    org_id TEXT COLLATE "C" NOT NULL,
    slot INTEGER NOT NULL,
    users BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (org_id, slot)
);

INSERT INTO org_user_counts (org_id, slot, users, generation)
SELECT org_id, 0, COUNT(*), COUNT(*) FROM users GROUP BY org_id;

CREATE FUNCTION users_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s INTEGER := floor(random() * 16)::INTEGER;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO org_user_counts (org_id, slot, users, generation)
        SELECT org_id, s, COUNT(*), COUNT(*) FROM new_rows GROUP BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE
        SET users = org_user_counts.users + EXCLUDED.users,
            generation = org_user_counts.generation + EXCLUDED.generation;
    ELSE
        INSERT INTO org_user_counts (org_id, slot, users, generation)
        SELECT org_id, s, -COUNT(*), COUNT(*) FROM old_rows GROUP BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE
        SET users = org_user_counts.users + EXCLUDED.users,
            generation = org_user_counts.generation + EXCLUDED.generation;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_count_changed();

CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_count_changed();
