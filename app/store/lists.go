package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	walker "github.com/walkerhq/walker/app"
)

// Lists are keyset-paged: a page reads Limit+1 rows after the cursor from an
// index in the list's order (no OFFSET, no count), so any page costs the
// same at any table size; the extra row says whether there is a next page.

// nameKey is the sort key of walkers and dogs, as the name indexes of
// migration 0002 have it: bytewise order on PostgreSQL as on SQLite.
func (s *Store) nameKey() string {
	if s.vendor == VendorPostgreSQL {
		return `lower(name) COLLATE "C"`
	}
	return "lower(name)"
}

// prefixEnd follows every string that starts with a prefix p in code point
// order: p<U+10FFFF> (the last code point, a noncharacter no name has).
const prefixEnd = "\U0010FFFF"

// afterKey is the keyset condition (key, id) > (?, ?), spelled so that both
// databases start an index range at the key: SQLite does not with a row
// value on an expression index.
func afterKey(key, id string) string {
	return key + " >= ? AND (" + key + " > ? OR " + id + " > ?)"
}

// nameListSQL is a name list's statement: columns then the sort key, with
// the search, cursor, order and limit all a range of the (lower(name), id)
// index. The database lowers the search as it lowers the names.
func (s *Store) nameListSQL(table, columns string, q walker.ListQuery) (string, []any) {
	key := s.nameKey()
	var b strings.Builder
	args := make([]any, 0, 6)
	b.WriteString("SELECT " + columns + ", lower(name) FROM " + table)
	where := " WHERE "
	if q.Search != "" {
		b.WriteString(where + key + " >= lower(?) AND " + key + " < lower(?)")
		args = append(args, q.Search, q.Search+prefixEnd)
		where = " AND "
	}
	if !q.After.IsZero() {
		b.WriteString(where + afterKey(key, "id"))
		args = append(args, q.After.Key, q.After.Key, q.After.ID)
	}
	b.WriteString(" ORDER BY " + key + ", id LIMIT ?")
	return b.String(), append(args, q.Limit+1)
}

func (s *Store) walkersSQL(q walker.ListQuery) (string, []any) {
	return s.nameListSQL("walkers", "id, name, email", q)
}

func (s *Store) dogsSQL(q walker.ListQuery) (string, []any) {
	return s.nameListSQL("dogs", "id, name, age, size", q)
}

// keyed is a listed row and its sort key, which the next page's cursor
// carries.
type keyed[T any] struct {
	item T
	key  string
	id   int64
}

// page drops the extra row read to know whether a next page exists, and
// makes the next page's cursor from the last row kept.
func page[T any](rows []keyed[T], limit int) walker.Page[T] {
	var p walker.Page[T]
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		p.Next = walker.Cursor{Key: last.key, ID: last.id}
	}
	p.Items = make([]T, len(rows))
	for i, r := range rows {
		p.Items[i] = r.item
	}
	return p
}

func scanWalker(rows *sql.Rows) (keyed[walker.Walker], error) {
	var r keyed[walker.Walker]
	err := rows.Scan(&r.item.ID, &r.item.Name, &r.item.Email, &r.key)
	r.id = r.item.ID
	return r, err
}

func scanDog(rows *sql.Rows) (keyed[walker.Dog], error) {
	var r keyed[walker.Dog]
	err := rows.Scan(&r.item.ID, &r.item.Name, &r.item.Age, &r.item.Size, &r.key)
	r.id = r.item.ID
	return r, err
}

// list reads a page of a list: the query checked, then its statement,
// each row scanned.
func list[T any](ctx context.Context, s *Store, q walker.ListQuery, stmt func(walker.ListQuery) (string, []any), scan func(*sql.Rows) (keyed[T], error)) (walker.Page[T], error) {
	if err := normalized(&q); err != nil {
		return walker.Page[T]{}, err
	}
	query, args := stmt(q)
	var rows []keyed[T]
	err := s.rows(ctx, query, args, func(r *sql.Rows) error {
		k, err := scan(r)
		rows = append(rows, k)
		return err
	})
	if err != nil {
		return walker.Page[T]{}, err
	}
	return page(rows, q.Limit), nil
}

func (s *Store) ListWalkers(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Walker], error) {
	return list(ctx, s, q, s.walkersSQL, scanWalker)
}

func (s *Store) ListDogs(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Dog], error) {
	return list(ctx, s, q, s.dogsSQL, scanDog)
}

// choicesSQL reads a page of dogs and a page of walkers in one statement,
// their rows told apart by the first column: the start form shows both,
// and a round trip to the database costs the app more CPU than both pages.
func (s *Store) choicesSQL(dq, wq walker.ListQuery) (string, []any) {
	dogs, dargs := s.nameListSQL("dogs", "'d', id, name, '', age, size", dq)
	walkers, wargs := s.nameListSQL("walkers", "'w', id, name, email, 0, ''", wq)
	return "SELECT * FROM (" + dogs + ") AS d UNION ALL SELECT * FROM (" + walkers + ") AS w", append(dargs, wargs...)
}

func (s *Store) StartChoices(ctx context.Context, dq, wq walker.ListQuery) (walker.Page[walker.Dog], walker.Page[walker.Walker], error) {
	err := normalized(&dq)
	if err == nil {
		err = normalized(&wq)
	}
	if err != nil {
		return walker.Page[walker.Dog]{}, walker.Page[walker.Walker]{}, err
	}
	query, args := s.choicesSQL(dq, wq)
	var dogs []keyed[walker.Dog]
	var walkers []keyed[walker.Walker]
	err = s.rows(ctx, query, args, func(r *sql.Rows) error {
		var kind, email, key string
		var d walker.Dog
		if err := r.Scan(&kind, &d.ID, &d.Name, &email, &d.Age, &d.Size, &key); err != nil {
			return err
		}
		if kind == "d" {
			dogs = append(dogs, keyed[walker.Dog]{item: d, key: key, id: d.ID})
		} else {
			walkers = append(walkers, keyed[walker.Walker]{item: walker.Walker{ID: d.ID, Name: d.Name, Email: email}, key: key, id: d.ID})
		}
		return nil
	})
	if err != nil {
		return walker.Page[walker.Dog]{}, walker.Page[walker.Walker]{}, err
	}
	// SQL leaves the order of a union's rows open: put each page back in
	// index order (bytewise keys, then ids), cheap for two short pages.
	sortKeyed(dogs)
	sortKeyed(walkers)
	return page(dogs, dq.Limit), page(walkers, wq.Limit), nil
}

func sortKeyed[T any](rows []keyed[T]) {
	slices.SortFunc(rows, func(a, b keyed[T]) int {
		return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.id, b.id))
	})
}

// walksInProgressSQL pages the partial index of walks in progress by
// (start_time, id), then joins the page with the names. The page is a
// subquery of its own: joined directly, PostgreSQL 15 plans a Memoize over
// every walk in progress and sizes its cache for them (about 30 ms per
// page at 200,000, against 0.5 ms). The join leaves the rows' order open;
// ListWalksInProgress sorts the page.
func walksInProgressSQL(q walker.ListQuery, after time.Time) (string, []any) {
	page := "SELECT " + walkColumns + " FROM walks WHERE end_time IS NULL AND start_time IS NOT NULL"
	var args []any
	if !q.After.IsZero() {
		page += " AND " + afterKey("start_time", "id")
		args = append(args, after.UTC(), after.UTC(), q.After.ID)
	}
	page += " ORDER BY start_time, id LIMIT ?"
	return withNames("(" + page + ")"), append(args, q.Limit+1)
}

// ListWalksInProgress pages the walks in progress oldest first; a cursor's
// key is the start time in RFC 3339.
func (s *Store) ListWalksInProgress(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Walk], error) {
	err := normalized(&q)
	if err == nil && q.Search != "" {
		err = walker.FieldErrors{"q": "Walks in progress cannot be searched."}
	}
	var after time.Time
	if err == nil && !q.After.IsZero() {
		if after, err = time.Parse(time.RFC3339Nano, q.After.Key); err != nil {
			err = walker.FieldErrors{"after": walker.BadCursor}
		}
	}
	if err != nil {
		return walker.Page[walker.Walk]{}, err
	}
	query, args := walksInProgressSQL(q, after)
	var rows []keyed[walker.Walk]
	err = s.rows(ctx, query, args, func(r *sql.Rows) error {
		w, err := scanWalk(r.Scan, true)
		if err != nil {
			return err
		}
		rows = append(rows, keyed[walker.Walk]{item: w, key: w.StartTime.Format(time.RFC3339Nano), id: w.ID})
		return nil
	})
	if err != nil {
		return walker.Page[walker.Walk]{}, err
	}
	slices.SortFunc(rows, func(a, b keyed[walker.Walk]) int {
		return cmp.Or(a.item.StartTime.Compare(*b.item.StartTime), cmp.Compare(a.id, b.id))
	})
	return page(rows, q.Limit), nil
}
