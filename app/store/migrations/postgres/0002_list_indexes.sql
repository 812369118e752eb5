-- The lists are keyset-paged: a page is a range of an index in the list's
-- order, so it costs the same at any table size.

-- Walkers and dogs are listed, paged and searched by their lower-cased name
-- then id: one btree serves the order, the keyset (the row after the last
-- shown) and a case-insensitive prefix search as a range on the same key.
-- Collation "C" compares bytes (code point order), like SQLite's BINARY, so
-- both backends page in the same order, and a prefix is a range whatever the
-- database's locale; no extension (pg_trgm) is needed.
CREATE INDEX walkers_name_key ON walkers ((lower(name)) COLLATE "C", id);
CREATE INDEX dogs_name_key ON dogs ((lower(name)) COLLATE "C", id);

-- Walks in progress are paged oldest first by (start_time, id); the oldest
-- one (for the "stuck" alert) is this index's first entry.
CREATE INDEX walks_in_progress_page ON walks (start_time, id) WHERE end_time IS NULL;
DROP INDEX walks_in_progress;
