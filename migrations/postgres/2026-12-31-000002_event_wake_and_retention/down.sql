DROP INDEX hook_deliveries_event;
ALTER TABLE event_counters DROP COLUMN pruned_seq;
DROP TRIGGER events_notify ON events;
DROP FUNCTION muster_events_notify();
