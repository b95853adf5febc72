-- Nothing to undo: TRUE was what NULL meant.
SELECT 1;
