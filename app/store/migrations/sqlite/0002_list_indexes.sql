-- The lists are keyset-paged: a page is a range of an index in the list's
-- order, so it costs the same at any table size.

-- Walkers and dogs are listed, paged and searched by their lower-cased name
-- then id: one index serves the order, the keyset (the row after the last
-- shown) and a case-insensitive prefix search as a range on the same key.
-- BINARY, SQLite's default collation, compares in code point order as
-- PostgreSQL's "C" does. SQLite's lower() folds ASCII letters only.
CREATE INDEX walkers_name_key ON walkers (lower(name), id);
CREATE INDEX dogs_name_key ON dogs (lower(name), id);

-- Walks in progress are paged oldest first by (start_time, id); the oldest
-- one (for the "stuck" alert) is this index's first entry.
CREATE INDEX walks_in_progress_page ON walks (start_time, id) WHERE end_time IS NULL;
DROP INDEX walks_in_progress;
