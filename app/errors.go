package walker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Sentinel errors to test with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyComplete = errors.New("already complete")
	// ErrUnavailable is what a Store wraps around an error that says the
	// database cannot answer now (no connection, a timeout, busy): worth a
	// retry, unlike a bug.
	ErrUnavailable = errors.New("database unavailable")
)

// NotFoundError says which record is missing. Its message is the one the
// original app answered with, e.g. "no walk with ID 5 found".
type NotFoundError struct {
	Entity string // "walk", "walker" or "dog"
	ID     int64
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s with ID %d found", e.Entity, e.ID)
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// AlreadyCompleteError is returned when completing a completed walk.
type AlreadyCompleteError struct{ ID int64 }

func (e *AlreadyCompleteError) Error() string {
	return fmt.Sprintf("walk %d is already complete", e.ID)
}

// Is makes errors.Is(err, ErrAlreadyComplete) hold.
func (e *AlreadyCompleteError) Is(target error) bool { return target == ErrAlreadyComplete }

// FieldErrors maps a field name to what is wrong with it: invalid input
// that changed nothing.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, k+": "+e[k])
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// OrNil returns nil for no errors, so validators can `return errs.OrNil()`.
func (e FieldErrors) OrNil() error {
	if len(e) == 0 {
		return nil
	}
	return e
}
