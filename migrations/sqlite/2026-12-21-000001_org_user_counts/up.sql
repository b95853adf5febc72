-- How many users each organization has, and a generation that moves on every user insert or
-- delete: kept by triggers in the transaction of the change, whichever path writes users
-- (every dialect, Bulk, imports). An unfiltered SCIM list reads its exact totalResults here
-- instead of counting the organization's users, and knows whether its cached page
-- boundaries (store::paging) still hold. PostgreSQL spreads writers over slots; SQLite has
-- one writer at a time and uses slot 0. No foreign key: rows of a deleted organization are
-- left at zero.
CREATE TABLE org_user_counts (
    org_id TEXT NOT NULL,
    slot INTEGER NOT NULL,
    users BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (org_id, slot)
);

INSERT INTO org_user_counts (org_id, slot, users, generation)
SELECT org_id, 0, COUNT(*), COUNT(*) FROM users GROUP BY org_id;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
BEGIN
    INSERT INTO org_user_counts (org_id, slot, users, generation)
    VALUES (NEW.org_id, 0, 1, 1)
    ON CONFLICT (org_id, slot) DO UPDATE
    SET users = users + 1, generation = generation + 1;
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users
BEGIN
    INSERT INTO org_user_counts (org_id, slot, users, generation)
    VALUES (OLD.org_id, 0, -1, 1)
    ON CONFLICT (org_id, slot) DO UPDATE
    SET users = users - 1, generation = generation + 1;
END;
