-- Walks in progress are counted by the database itself, so that a scrape
-- reads a few rows, not the walks.

-- No walk changes while the count is taken and the triggers are created.
LOCK TABLE walks IN SHARE ROW EXCLUSIVE MODE;

-- walks_in_progress is the sum of the slots. Each statement changes the slot
-- of its connection (pg_backend_pid() % 16): concurrent starts and
-- completions from many connections and replicas rarely wait for one
-- another, and a transaction only ever holds its own slot's lock.
CREATE TABLE walk_counts (
    slot        integer PRIMARY KEY,
    in_progress bigint NOT NULL
);
INSERT INTO walk_counts (slot, in_progress) SELECT s, 0 FROM generate_series(0, 15) s;
UPDATE walk_counts SET in_progress = (SELECT count(*) FROM walks WHERE start_time IS NOT NULL AND end_time IS NULL)
WHERE slot = 0;

-- Statement-level, with transition tables: one update per statement however
-- many walks it touched (a bulk load, a cascade from a deleted dog or
-- walker), in the statement's own transaction, so the count is exact.
CREATE FUNCTION walk_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        delta := delta + (SELECT count(*) FROM new_walks WHERE start_time IS NOT NULL AND end_time IS NULL);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        delta := delta - (SELECT count(*) FROM old_walks WHERE start_time IS NOT NULL AND end_time IS NULL);
    END IF;
    IF delta <> 0 THEN
        UPDATE walk_counts SET in_progress = in_progress + delta WHERE slot = pg_backend_pid() % 16;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER walk_counts_insert AFTER INSERT ON walks
    REFERENCING NEW TABLE AS new_walks FOR EACH STATEMENT EXECUTE FUNCTION walk_counts_change();
CREATE TRIGGER walk_counts_update AFTER UPDATE ON walks
    REFERENCING OLD TABLE AS old_walks NEW TABLE AS new_walks FOR EACH STATEMENT EXECUTE FUNCTION walk_counts_change();
CREATE TRIGGER walk_counts_delete AFTER DELETE ON walks
    REFERENCING OLD TABLE AS old_walks FOR EACH STATEMENT EXECUTE FUNCTION walk_counts_change();
