package store

import (
	"context"
	"strings"
	"time"

	walker "github.com/walkerhq/walker/app"
)

// Explain returns the database's plan for the statement a list (kind
// "walkers", "dogs", "choices", "walks") or the scrape ("state") runs.
func (s *Store) Explain(ctx context.Context, kind string, q walker.ListQuery) (string, error) {
	q.Normalize()
	var query string
	var vars []any
	switch kind {
	case "walkers":
		query, vars = s.walkersSQL(q)
	case "dogs":
		query, vars = s.dogsSQL(q)
	case "choices":
		query, vars = s.choicesSQL(q, q)
	case "walks":
		query, vars = walksInProgressSQL(q, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	case "state":
		query = s.stateQuery
	}
	explain := "EXPLAIN "
	if s.vendor == VendorSQLite {
		explain = "EXPLAIN QUERY PLAN "
	}
	query, vars = s.bind(query, vars...)
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
