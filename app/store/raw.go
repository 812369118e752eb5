package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
)

// The hot paths (the walk lifecycle and the lists) run fixed statements
// that select exactly their columns, through gorm's Raw API, and scan the
// columns by hand: gorm's callbacks still time and count every statement,
// but no clause is built and no reflection fills a struct (profiled: about
// 25 µs of CPU per statement). pgx prepares each statement text once per
// connection and then only binds and executes it.

// errNoRow is what a raw statement gives when gorm produced no row to scan
// (an error before the statement ran).
var errNoRow = errors.New("store: the statement produced no row")

// row runs a statement that answers at most one row and scans it into
// dest; no row is sql.ErrNoRows. The database reports some errors (a
// foreign key, a timeout) only as the row is read: they are counted here,
// as gorm's callbacks count the others.
func (s *Store) row(ctx context.Context, query string, args []any, dest ...any) error {
	tx, cancel := s.raw(ctx, query, args)
	defer cancel()
	row := tx.Row()
	if row == nil {
		return errors.Join(errNoRow, tx.Error)
	}
	err := row.Scan(dest...)
	if err != nil && !errors.Is(err, sql.ErrNoRows) && tx.Error == nil {
		s.metrics.countError(err)
	}
	return err
}

// rows runs a statement and calls scan for each row it answers.
func (s *Store) rows(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	tx, cancel := s.raw(ctx, query, args)
	defer cancel()
	rows, err := tx.Rows()
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		s.metrics.countError(err)
		return unavailable(err)
	}
	return nil
}

// raw is a gorm statement of query, bounded by the statement timeout. It
// starts from the store's root session, whose every call makes a fresh
// statement, and sets the context on that statement: WithContext would
// clone a whole session first (a kilobyte per statement).
func (s *Store) raw(ctx context.Context, query string, args []any) (*gorm.DB, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	tx := s.db.Raw(query, args...)
	tx.Statement.Context = ctx
	return tx, cancel
}

// walkColumns are a walk's columns, in scanWalk's order.
const walkColumns = "id, dog_id, walker_id, distance, start_time, end_time"

// withNames selects the walks of from (the table, or a subquery of
// walkColumns), as w, with their dog's and walker's names: scanWalk's
// columns with names.
func withNames(from string) string {
	return "SELECT w.id, w.dog_id, w.walker_id, w.distance, w.start_time, w.end_time, dogs.name, walkers.name FROM " + from +
		" AS w JOIN dogs ON dogs.id = w.dog_id JOIN walkers ON walkers.id = w.walker_id"
}

// scanWalk reads walkColumns, and the names of withNames when names is set.
func scanWalk(scan func(...any) error, names bool) (walker.Walk, error) {
	var w walker.Walk
	var start, end sql.NullTime
	var dog, who string
	dest := []any{&w.ID, &w.DogID, &w.WalkerID, &w.Distance, &start, &end, &dog, &who}
	if !names {
		dest = dest[:6]
	}
	if err := scan(dest...); err != nil {
		return w, err
	}
	w.StartTime, w.EndTime = utcTime(start), utcTime(end)
	if names {
		w.Dog = &walker.Dog{ID: w.DogID, Name: dog}
		w.Walker = &walker.Walker{ID: w.WalkerID, Name: who}
	}
	return w, nil
}

func utcTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
