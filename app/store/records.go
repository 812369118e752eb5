package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
)

// Rows as stored. The domain types stay free of gorm tags.
type walkerRow struct {
	ID    int64
	Name  string
	Email string
}

func (walkerRow) TableName() string { return "walkers" }

type dogRow struct {
	ID   int64
	Name string
	Age  int
	Size string
}

func (dogRow) TableName() string { return "dogs" }

func (r walkerRow) domain() walker.Walker {
	return walker.Walker{ID: r.ID, Name: r.Name, Email: r.Email}
}
func (r dogRow) domain() walker.Dog {
	return walker.Dog{ID: r.ID, Name: r.Name, Age: r.Age, Size: walker.Size(r.Size)}
}

func (s *Store) GetWalker(ctx context.Context, id int64) (walker.Walker, error) {
	db, cancel := s.ctx(ctx)
	defer cancel()
	var r walkerRow
	if err := db.Take(&r, id).Error; err != nil {
		return walker.Walker{}, notFound(err, "walker", id)
	}
	return r.domain(), nil
}

func (s *Store) CreateWalker(ctx context.Context, w *walker.Walker) error {
	w.Normalize()
	if err := w.Validate(); err != nil {
		return err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	r := walkerRow{Name: w.Name, Email: w.Email}
	if err := db.Create(&r).Error; err != nil {
		return err
	}
	w.ID = r.ID
	return nil
}

func (s *Store) UpdateWalker(ctx context.Context, w walker.Walker) error {
	w.Normalize()
	if err := w.Validate(); err != nil {
		return err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	res := db.Model(&walkerRow{}).Where("id = ?", w.ID).Updates(map[string]any{"name": w.Name, "email": w.Email})
	return rowsOrNotFound(res, "walker", w.ID)
}

func (s *Store) DeleteWalker(ctx context.Context, id int64) error {
	db, cancel := s.ctx(ctx)
	defer cancel()
	return rowsOrNotFound(db.Delete(&walkerRow{}, id), "walker", id)
}

func (s *Store) GetDog(ctx context.Context, id int64) (walker.Dog, error) {
	db, cancel := s.ctx(ctx)
	defer cancel()
	var r dogRow
	if err := db.Take(&r, id).Error; err != nil {
		return walker.Dog{}, notFound(err, "dog", id)
	}
	return r.domain(), nil
}

func (s *Store) CreateDog(ctx context.Context, d *walker.Dog) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	r := dogRow{Name: d.Name, Age: d.Age, Size: string(d.Size)}
	if err := db.Create(&r).Error; err != nil {
		return err
	}
	d.ID = r.ID
	return nil
}

func (s *Store) UpdateDog(ctx context.Context, d walker.Dog) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	db, cancel := s.ctx(ctx)
	defer cancel()
	res := db.Model(&dogRow{}).Where("id = ?", d.ID).Updates(map[string]any{"name": d.Name, "age": d.Age, "size": string(d.Size)})
	return rowsOrNotFound(res, "dog", d.ID)
}

func (s *Store) DeleteDog(ctx context.Context, id int64) error {
	db, cancel := s.ctx(ctx)
	defer cancel()
	return rowsOrNotFound(db.Delete(&dogRow{}, id), "dog", id)
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
		return walker.Walk{}, err
	}
	s.metrics.inserts.WithLabelValues(models["walks"]).Inc()
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
	var scanErr error
	w, err := scanWalk(func(dest ...any) error {
		scanErr = s.row(ctx, "UPDATE walks SET end_time = ?, distance = ? WHERE id = ? AND end_time IS NULL RETURNING "+walkColumns,
			[]any{at.UTC(), distance, id}, dest...)
		return scanErr
	}, false)
	switch {
	case err == nil:
		s.metrics.updates.WithLabelValues(models["walks"]).Inc()
		return w, nil
	case !errors.Is(scanErr, sql.ErrNoRows):
		return walker.Walk{}, err
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
		return s.row(ctx, "SELECT "+walkColumns+withNames+" WHERE walks.id = ?", []any{id}, dest...)
	}, true)
	if err != nil {
		return walker.Walk{}, notFound(err, "walk", id)
	}
	return w, nil
}

// WalkComplete is the status endpoint's one indexed lookup.
func (s *Store) WalkComplete(ctx context.Context, id int64) (bool, error) {
	var complete bool
	if err := s.row(ctx, "SELECT end_time IS NOT NULL FROM walks WHERE id = ?", []any{id}, &complete); err != nil {
		return false, notFound(err, "walk", id)
	}
	return complete, nil
}

func notFound(err error, entity string, id int64) error {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return &walker.NotFoundError{Entity: entity, ID: id}
	}
	return err
}

func rowsOrNotFound(res *gorm.DB, entity string, id int64) error {
	if res.Error != nil {
		return res.Error
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
	for _, w := range walkers {
		var n int64
		db, cancel := s.ctx(ctx)
		err := db.Model(&walkerRow{}).Where("name = ?", w.Name).Count(&n).Error
		cancel()
		if err != nil {
			return created, err
		}
		if n == 0 {
			if err := s.CreateWalker(ctx, &w); err != nil {
				return created, err
			}
			created++
		}
	}
	for _, d := range dogs {
		var n int64
		db, cancel := s.ctx(ctx)
		err := db.Model(&dogRow{}).Where("name = ?", d.Name).Count(&n).Error
		cancel()
		if err != nil {
			return created, err
		}
		if n == 0 {
			if err := s.CreateDog(ctx, &d); err != nil {
				return created, err
			}
			created++
		}
	}
	return created, nil
}
