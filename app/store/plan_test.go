package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/store"
)

// TestListsAndScrapeReadIndexes: every page, search and scrape statement is
// a range of an index in the list's order: no scan of a table, no sort, so
// their cost does not grow with the tables. PostgreSQL plans with
// statistics of a populated database (20,000 rows each, 2,000 walks in
// progress); SQLite's planner needs none.
func TestListsAndScrapeReadIndexes(t *testing.T) {
	t.Parallel()
	testdb.OnEach(t, func(t *testing.T, cfg store.Config) {
		s, _ := testdb.Migrated(t, cfg)
		if s.Vendor() == store.VendorPostgreSQL {
			populate(t, cfg)
		}
		cursor := walker.Cursor{Key: "walker 5", ID: 5}
		walkCursor := walker.Cursor{Key: "2026-01-01T00:00:00Z", ID: 5}
		tests := []struct {
			kind  string
			q     walker.ListQuery
			index string
		}{
			{"walkers", walker.ListQuery{}, "walkers_name_key"},
			{"walkers", walker.ListQuery{Search: "Walker 1"}, "walkers_name_key"},
			{"walkers", walker.ListQuery{After: cursor}, "walkers_name_key"},
			{"walkers", walker.ListQuery{Search: "walker", After: cursor}, "walkers_name_key"},
			{"dogs", walker.ListQuery{Search: "Dog 7", After: cursor}, "dogs_name_key"},
			{"choices", walker.ListQuery{Search: "D"}, "dogs_name_key"},
			{"choices", walker.ListQuery{Search: "W", After: cursor}, "walkers_name_key"},
			{"walks", walker.ListQuery{}, "walks_in_progress_page"},
			{"walks", walker.ListQuery{After: walkCursor}, "walks_in_progress_page"},
			{"state", walker.ListQuery{}, "walks_in_progress_page"},
			{"state", walker.ListQuery{}, "walk_counts"},
		}
		for _, tt := range tests {
			plan, err := s.Explain(context.Background(), tt.kind, tt.q)
			if err != nil {
				t.Fatalf("explain %s %+v: %v", tt.kind, tt.q, err)
			}
			for _, b := range []string{"Seq Scan on walks", "Seq Scan on walkers", "Seq Scan on dogs", "Sort", "TEMP B-TREE"} {
				if strings.Contains(plan, b) {
					t.Errorf("%s %+v: the plan has %q:\n%s", tt.kind, tt.q, b, plan)
				}
			}
			// SQLite: a first page may read its index from the start (the
			// limit stops it); a search or a cursor must start a range.
			// (SCAN of a subquery, or of the 16-row walk_counts, is fine.)
			for _, line := range strings.Split(plan, "\n") {
				f := strings.Fields(line)
				if len(f) < 2 || f[0] != "SCAN" || !slices.Contains([]string{"walks", "walkers", "dogs"}, f[1]) {
					continue
				}
				if !strings.Contains(line, "INDEX") || tt.q.Search != "" || !tt.q.After.IsZero() {
					t.Errorf("%s %+v: the plan reads from the start of a table or index: %q\n%s", tt.kind, tt.q, line, plan)
				}
			}
			t.Logf("%s %+v:\n%s", tt.kind, tt.q, plan)
			if !strings.Contains(plan, tt.index) {
				t.Errorf("%s %+v: the plan does not use %s:\n%s", tt.kind, tt.q, tt.index, plan)
			}
		}
	})
}

// populate fills a PostgreSQL database enough for its planner to prefer
// what it will prefer at any larger size, and analyzes it.
func populate(t *testing.T, cfg store.Config) {
	t.Helper()
	db := testdb.Raw(t, cfg)
	for _, q := range []string{
		`INSERT INTO walkers (name, email) SELECT 'Walker ' || i, 'w' || i || '@example.com' FROM generate_series(1, 20000) i`,
		`INSERT INTO dogs (name, age, size) SELECT 'Dog ' || i, i % 16, 'md' FROM generate_series(1, 20000) i`,
		`INSERT INTO walks (dog_id, walker_id, start_time, end_time)
		 SELECT 1 + i % 20000, 1 + i % 20000, now() - i * interval '1 minute', CASE WHEN i > 2000 THEN now() END
		 FROM generate_series(1, 20000) i`,
		`ANALYZE`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
