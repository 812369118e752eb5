package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
)

// Walkers and dogs are stored by gorm's default mapping of the domain types
// (tables walkers and dogs, a column a field), which need no gorm tags. The
// four statements of each are bounded by the statement timeout; errors as
// walker.Store says (storeErr).

func get[T any](ctx context.Context, s *Store, entity string, id int64) (T, error) {
	var r T
	db, cancel := s.ctx(ctx)
	defer cancel()
	err := storeErr(db.Take(&r, id).Error, entity, id)
	return r, err
}

// create inserts r, normalized and valid, and sets its *id to the new row's.
func (s *Store) create(ctx context.Context, r input, id *int64) error {
	if err := normalized(r); err != nil {
		return err
	}
	*id = 0 // the database numbers the rows
	db, cancel := s.ctx(ctx)
	defer cancel()
	return storeErr(db.Create(r).Error, "", 0)
}

func (s *Store) update(ctx context.Context, model any, entity string, id int64, fields map[string]any) error {
	db, cancel := s.ctx(ctx)
	defer cancel()
	return rowsOrNotFound(db.Model(model).Where("id = ?", id).Updates(fields), entity, id)
}

func (s *Store) delete(ctx context.Context, model any, entity string, id int64) error {
	db, cancel := s.ctx(ctx)
	defer cancel()
	return rowsOrNotFound(db.Delete(model, id), entity, id)
}

func (s *Store) GetWalker(ctx context.Context, id int64) (walker.Walker, error) {
	return get[walker.Walker](ctx, s, "walker", id)
}

func (s *Store) CreateWalker(ctx context.Context, w *walker.Walker) error {
	return s.create(ctx, w, &w.ID)
}

func (s *Store) UpdateWalker(ctx context.Context, w *walker.Walker) error {
	if err := normalized(w); err != nil {
		return err
	}
	return s.update(ctx, &walker.Walker{}, "walker", w.ID, map[string]any{"name": w.Name, "email": w.Email})
}

func (s *Store) DeleteWalker(ctx context.Context, id int64) error {
	return s.delete(ctx, &walker.Walker{}, "walker", id)
}

func (s *Store) GetDog(ctx context.Context, id int64) (walker.Dog, error) {
	return get[walker.Dog](ctx, s, "dog", id)
}

func (s *Store) CreateDog(ctx context.Context, d *walker.Dog) error {
	return s.create(ctx, d, &d.ID)
}

func (s *Store) UpdateDog(ctx context.Context, d *walker.Dog) error {
	if err := normalized(d); err != nil {
		return err
	}
	return s.update(ctx, &walker.Dog{}, "dog", d.ID, map[string]any{"name": d.Name, "age": d.Age, "size": string(d.Size)})
}

func (s *Store) DeleteDog(ctx context.Context, id int64) error {
	return s.delete(ctx, &walker.Dog{}, "dog", id)
}

// input is what a person gives: a walker, a dog, a list query.
type input interface {
	Normalize()
	Validate() error
}

// normalized normalizes input from a person and validates it.
func normalized(r input) error {
	r.Normalize()
	return r.Validate()
}

// StartWalk inserts the walk. The foreign keys check that the dog and the
// walker exist; only when they fail do we look which one is missing.
func (s *Store) StartWalk(ctx context.Context, dogID, walkerID int64, at time.Time) (walker.Walk, error) {
	if dogID <= 0 {
		return walker.Walk{}, &walker.NotFoundError{Entity: "dog", ID: dogID}
	}
	if walkerID <= 0 {
		return walker.Walk{}, &walker.NotFoundError{Entity: "walker", ID: walkerID}
	}
	start := at.UTC()
	w := walker.Walk{DogID: dogID, WalkerID: walkerID, StartTime: &start}
	err := s.row(ctx, "INSERT INTO walks (dog_id, walker_id, distance, start_time) VALUES (?, ?, 0, ?) RETURNING id",
		[]any{dogID, walkerID, start}, &w.ID)
	if err != nil {
		if classify(err) == "foreign_key_violation" {
			return walker.Walk{}, s.missingParent(ctx, dogID, walkerID, err)
		}
		return walker.Walk{}, unavailable(err)
	}
	s.metrics.written["create"].WithLabelValues(models["walks"]).Inc()
	return w, nil
}

func (s *Store) missingParent(ctx context.Context, dogID, walkerID int64, cause error) error {
	if _, err := s.GetDog(ctx, dogID); errors.Is(err, walker.ErrNotFound) {
		return err
	}
	if _, err := s.GetWalker(ctx, walkerID); errors.Is(err, walker.ErrNotFound) {
		return err
	}
	return cause
}

// CompleteWalk is one conditional update: only a walk without an end time
// changes, so of two concurrent completions exactly one succeeds.
func (s *Store) CompleteWalk(ctx context.Context, id int64, distance int, at time.Time) (walker.Walk, error) {
	if err := walker.ValidateDistance(distance); err != nil {
		return walker.Walk{}, err
	}
	if id <= 0 {
		return walker.Walk{}, &walker.NotFoundError{Entity: "walk", ID: id}
	}
	w, err := scanWalk(func(dest ...any) error {
		return s.row(ctx, "UPDATE walks SET end_time = ?, distance = ? WHERE id = ? AND end_time IS NULL RETURNING "+walkColumns,
			[]any{at.UTC(), distance, id}, dest...)
	}, false)
	switch {
	case err == nil:
		s.metrics.written["update"].WithLabelValues(models["walks"]).Inc()
		return w, nil
	case !errors.Is(err, sql.ErrNoRows):
		return walker.Walk{}, unavailable(err)
	}
	// Nothing changed: the walk is missing or already complete.
	complete, err := s.WalkComplete(ctx, id)
	if err != nil {
		return walker.Walk{}, err
	}
	if complete {
		return walker.Walk{}, &walker.AlreadyCompleteError{ID: id}
	}
	// Not complete and not updated: it must have vanished in between.
	return walker.Walk{}, &walker.NotFoundError{Entity: "walk", ID: id}
}

// GetWalk reads a walk with its dog's and walker's names: one indexed join.
func (s *Store) GetWalk(ctx context.Context, id int64) (walker.Walk, error) {
	w, err := scanWalk(func(dest ...any) error {
		return s.row(ctx, withNames("walks")+" WHERE w.id = ?", []any{id}, dest...)
	}, true)
	return w, storeErr(err, "walk", id)
}

// WalkComplete is the status endpoint's one indexed lookup.
func (s *Store) WalkComplete(ctx context.Context, id int64) (bool, error) {
	var complete bool
	err := s.row(ctx, "SELECT end_time IS NOT NULL FROM walks WHERE id = ?", []any{id}, &complete)
	return complete, storeErr(err, "walk", id)
}

// storeErr is err as walker.Store says: a missing row is the entity's
// *NotFoundError, a database that cannot answer wraps ErrUnavailable.
func storeErr(err error, entity string, id int64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows):
		return &walker.NotFoundError{Entity: entity, ID: id}
	}
	return unavailable(err)
}

func rowsOrNotFound(res *gorm.DB, entity string, id int64) error {
	if res.Error != nil {
		return storeErr(res.Error, entity, id)
	}
	if res.RowsAffected == 0 {
		return &walker.NotFoundError{Entity: entity, ID: id}
	}
	return nil
}

// LoadDemo adds a few walkers and dogs, skipping names already there, and
// returns how many it created.
func (s *Store) LoadDemo(ctx context.Context) (int, error) {
	walkers := []walker.Walker{
		{Name: "Alice Smith", Email: "alice@example.com"},
		{Name: "Bob Jones", Email: "bob@example.com"},
		{Name: "Carmen Diaz", Email: "carmen@example.com"},
	}
	dogs := []walker.Dog{
		{Name: "Rex", Age: 4, Size: walker.SizeLG},
		{Name: "Bella", Age: 2, Size: walker.SizeSM},
		{Name: "Max", Age: 7, Size: walker.SizeMD},
		{Name: "Tiny", Age: 1, Size: walker.SizeXS},
	}
	created := 0
	// add creates a record unless one has the name.
	add := func(model any, name string, create func() error) error {
		var n int64
		db, cancel := s.ctx(ctx)
		err := db.Model(model).Where("name = ?", name).Count(&n).Error
		cancel()
		if err == nil && n == 0 {
			if err = create(); err == nil {
				created++
			}
		}
		return err
	}
	for _, w := range walkers {
		if err := add(&walker.Walker{}, w.Name, func() error { return s.CreateWalker(ctx, &w) }); err != nil {
			return created, err
		}
	}
	for _, d := range dogs {
		if err := add(&walker.Dog{}, d.Name, func() error { return s.CreateDog(ctx, &d) }); err != nil {
			return created, err
		}
	}
	return created, nil
}
