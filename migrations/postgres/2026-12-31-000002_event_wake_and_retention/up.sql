-- Waking the event tasks without polling (docs/events.md): every statement that inserts
-- events sends NOTIFY muster_events, delivered to every instance's listening connection
-- when the writing transaction commits (and never if it rolls back). One notification per
-- transaction: PostgreSQL folds identical ones.
CREATE FUNCTION muster_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('muster_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION muster_events_notify();

-- Event retention: the highest seq of each organization pruned so far. A feed request
-- for a position below it is answered 410 (resynchronise) instead of with a gap.
ALTER TABLE event_counters ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT 0;
-- A pruned event's deliveries go with it.
CREATE INDEX hook_deliveries_event ON hook_deliveries(event_pos);
