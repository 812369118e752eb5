package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
)

// Lists are keyset-paged: a page reads Limit+1 rows after the cursor from an
// index in the list's order (no OFFSET, no count), so any page costs the
// same at any table size; the extra row says whether there is a next page.

// walkerKeyRow and dogKeyRow are rows with their sort key, the database's
// lower(name), which the next page's cursor carries.
type walkerKeyRow struct {
	Row     walkerRow `gorm:"embedded"`
	SortKey string
}

type dogKeyRow struct {
	Row     dogRow `gorm:"embedded"`
	SortKey string
}

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

// byName applies a name list's search, cursor, order and limit: all of them
// a range of the (lower(name), id) index.
func (s *Store) byName(tx *gorm.DB, q walker.ListQuery) *gorm.DB {
	key := s.nameKey()
	if q.Search != "" {
		// The database lowers the search as it lowers the names.
		tx = tx.Where(key+" >= lower(?) AND "+key+" < lower(?)", q.Search, q.Search+prefixEnd)
	}
	if !q.After.IsZero() {
		tx = tx.Where(afterKey(key, "id"), q.After.Key, q.After.Key, q.After.ID)
	}
	return tx.Order(key + ", id").Limit(q.Limit + 1)
}

func (s *Store) walkersQuery(db *gorm.DB, q walker.ListQuery) *gorm.DB {
	return s.byName(db.Table("walkers").Select("id, name, email, lower(name) AS sort_key"), q)
}

func (s *Store) dogsQuery(db *gorm.DB, q walker.ListQuery) *gorm.DB {
	return s.byName(db.Table("dogs").Select("id, name, age, size, lower(name) AS sort_key"), q)
}

func (s *Store) ListWalkers(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Walker], error) {
	q.Normalize()
	if err := q.Validate(); err != nil {
		return walker.Page[walker.Walker]{}, err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	var rows []walkerKeyRow
	if err := s.walkersQuery(db, q).Find(&rows).Error; err != nil {
		return walker.Page[walker.Walker]{}, err
	}
	var p walker.Page[walker.Walker]
	rows, p.Next = trim(rows, q.Limit, func(r walkerKeyRow) walker.Cursor { return walker.Cursor{Key: r.SortKey, ID: r.Row.ID} })
	p.Items = make([]walker.Walker, len(rows))
	for i, r := range rows {
		p.Items[i] = r.Row.domain()
	}
	return p, nil
}

func (s *Store) ListDogs(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Dog], error) {
	q.Normalize()
	if err := q.Validate(); err != nil {
		return walker.Page[walker.Dog]{}, err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	var rows []dogKeyRow
	if err := s.dogsQuery(db, q).Find(&rows).Error; err != nil {
		return walker.Page[walker.Dog]{}, err
	}
	var p walker.Page[walker.Dog]
	rows, p.Next = trim(rows, q.Limit, func(r dogKeyRow) walker.Cursor { return walker.Cursor{Key: r.SortKey, ID: r.Row.ID} })
	p.Items = make([]walker.Dog, len(rows))
	for i, r := range rows {
		p.Items[i] = r.Row.domain()
	}
	return p, nil
}

// trim drops the extra row read to know whether a next page exists, and
// returns the next page's cursor: the last row kept.
func trim[T any](rows []T, limit int, cursor func(T) walker.Cursor) ([]T, walker.Cursor) {
	if len(rows) <= limit {
		return rows, walker.Cursor{}
	}
	rows = rows[:limit]
	return rows, cursor(rows[limit-1])
}

// walkColumns are the columns of walkRow; lists and lookups select exactly
// these (and the names they join).
const walkColumns = "walks.id, walks.dog_id, walks.walker_id, walks.distance, walks.start_time, walks.end_time"

// ListWalksInProgress pages the partial index of walks in progress by
// (start_time, id); a cursor's key is the start time in RFC 3339.
func (s *Store) ListWalksInProgress(ctx context.Context, q walker.ListQuery) (walker.Page[walker.Walk], error) {
	q.Normalize()
	err := q.Validate()
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
	db, cancel := s.ctx(ctx)
	defer cancel()
	var rows []walkWithNames
	if err := walksInProgressQuery(db, q, after).Find(&rows).Error; err != nil {
		return walker.Page[walker.Walk]{}, err
	}
	var p walker.Page[walker.Walk]
	rows, p.Next = trim(rows, q.Limit, func(r walkWithNames) walker.Cursor {
		return walker.Cursor{Key: r.Walk.StartTime.UTC().Format(time.RFC3339Nano), ID: r.Walk.ID}
	})
	p.Items = make([]walker.Walk, len(rows))
	for i, r := range rows {
		p.Items[i] = r.domain()
	}
	return p, nil
}

func walksInProgressQuery(db *gorm.DB, q walker.ListQuery, after time.Time) *gorm.DB {
	tx := db.Table("walks").
		Select(walkColumns + ", dogs.name AS dog_name, walkers.name AS walker_name").
		Joins("JOIN dogs ON dogs.id = walks.dog_id").
		Joins("JOIN walkers ON walkers.id = walks.walker_id").
		Where("walks.end_time IS NULL AND walks.start_time IS NOT NULL")
	if !q.After.IsZero() {
		tx = tx.Where(afterKey("walks.start_time", "walks.id"), after.UTC(), after.UTC(), q.After.ID)
	}
	return tx.Order("walks.start_time, walks.id").Limit(q.Limit + 1)
}
