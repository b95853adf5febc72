DROP INDEX hook_deliveries_event;
ALTER TABLE event_counters DROP COLUMN pruned_seq;
