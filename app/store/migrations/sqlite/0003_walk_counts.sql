-- Walks in progress are counted by the database itself, so that a scrape
-- reads one row, not the walks.

-- SQLite has one writer at a time: one slot is enough. The triggers run in
-- the changing statement's transaction (cascades from a deleted dog or
-- walker included), so the count is exact.
CREATE TABLE walk_counts (
    slot        integer PRIMARY KEY,
    in_progress integer NOT NULL
);
INSERT INTO walk_counts (slot, in_progress)
SELECT 0, count(*) FROM walks WHERE start_time IS NOT NULL AND end_time IS NULL;

CREATE TRIGGER walk_counts_insert AFTER INSERT ON walks
WHEN NEW.start_time IS NOT NULL AND NEW.end_time IS NULL
BEGIN
    UPDATE walk_counts SET in_progress = in_progress + 1 WHERE slot = 0;
END;

CREATE TRIGGER walk_counts_update AFTER UPDATE OF start_time, end_time ON walks
WHEN (NEW.start_time IS NOT NULL AND NEW.end_time IS NULL) <> (OLD.start_time IS NOT NULL AND OLD.end_time IS NULL)
BEGIN
    UPDATE walk_counts SET in_progress = in_progress + (CASE WHEN NEW.start_time IS NOT NULL AND NEW.end_time IS NULL THEN 1 ELSE -1 END) WHERE slot = 0;
END;

CREATE TRIGGER walk_counts_delete AFTER DELETE ON walks
WHEN OLD.start_time IS NOT NULL AND OLD.end_time IS NULL
BEGIN
    UPDATE walk_counts SET in_progress = in_progress - 1 WHERE slot = 0;
END;
