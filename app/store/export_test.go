package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
)

// Explain returns the database's plan for the statement a list (kind
// "walkers", "dogs", "walks") or the scrape ("oldest", "count") runs.
func (s *Store) Explain(ctx context.Context, kind string, q walker.ListQuery) (string, error) {
	q.Normalize()
	dry := s.db.Session(&gorm.Session{DryRun: true})
	var query string
	var vars []any
	build := func(tx *gorm.DB, dest any) {
		st := tx.Find(dest).Statement
		query, vars = st.SQL.String(), st.Vars
	}
	switch kind {
	case "walkers":
		build(s.walkersQuery(dry, q), &[]walkerKeyRow{})
	case "dogs":
		build(s.dogsQuery(dry, q), &[]dogKeyRow{})
	case "walks":
		build(walksInProgressQuery(dry, q, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), &[]walkWithNames{})
	case "oldest":
		query = oldestInProgressSQL
	case "count":
		query = inProgressCountSQL
	}
	explain := "EXPLAIN "
	if s.vendor == VendorSQLite {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.sqlDB.QueryContext(ctx, explain+query, vars...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		dest := make([]any, len(cols))
		for i := range dest {
			dest[i] = new(any)
		}
		if err := rows.Scan(dest...); err != nil {
			return "", err
		}
		for _, d := range dest {
			if s, ok := (*d.(*any)).(string); ok {
				plan.WriteString(s + " ")
			}
		}
		plan.WriteString("\n")
	}
	return query + "\n" + plan.String(), rows.Err()
}
