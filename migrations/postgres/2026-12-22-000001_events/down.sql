DROP TABLE hook_logs;
DROP TABLE hook_deliveries;
DROP TABLE hooks;
DROP TABLE event_counters;
DROP TABLE events;
