-- Event retention (docs/events.md): the highest seq of each organization pruned so far. A
-- feed request for a position below it is answered 410 (resynchronise) instead of with a
-- gap.
ALTER TABLE event_counters ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT 0;
-- A pruned event's deliveries go with it.
CREATE INDEX hook_deliveries_event ON hook_deliveries(event_pos);
