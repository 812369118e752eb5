// Package walker holds the domain of the walker service: walkers, dogs and
// walks, the rules that make them valid, and the Store the edges implement.
// It imports nothing from HTTP, storage or metrics.
package walker

import (
	"context"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits shared by every edge (forms, JSON API, storage).
const (
	MaxNameLength  = 127
	MaxEmailLength = 127
	// MaxDistance bounds a walk's distance in meters: 100 km is already
	// far beyond any dog walk, so anything larger is a typo.
	MaxDistance = 100_000
	// MaxAge bounds a dog's age in years.
	MaxAge = 40
)

// Size is a dog's size, stored as its short code.
type Size string

// The sizes of the original app, in display order.
const (
	SizeXS Size = "xs"
	SizeSM Size = "sm"
	SizeMD Size = "md"
	SizeLG Size = "lg"
	SizeXL Size = "xl"
)

// DefaultSize is the size of a dog when none is given.
const DefaultSize = SizeMD

// Sizes lists every valid size in display order.
var Sizes = []Size{SizeXS, SizeSM, SizeMD, SizeLG, SizeXL}

// sizeLabels are the sizes' display names, as the original showed them.
var sizeLabels = map[Size]string{SizeXS: "xsmall", SizeSM: "small", SizeMD: "medium", SizeLG: "large", SizeXL: "xlarge"}

// Label is the size's display name.
func (s Size) Label() string {
	if l, ok := sizeLabels[s]; ok {
		return l
	}
	return string(s)
}

// Valid reports whether s is one of Sizes.
func (s Size) Valid() bool {
	_, ok := sizeLabels[s]
	return ok
}

// Walker is a person who walks dogs.
type Walker struct {
	ID    int64
	Name  string
	Email string
}

// Dog is a dog that gets walked.
type Dog struct {
	ID   int64
	Name string
	Age  int
	Size Size
}

// Walk is one dog walked by one walker. A walk is started when it is
// created and complete once EndTime is set.
type Walk struct {
	ID        int64
	DogID     int64
	WalkerID  int64
	Distance  int // meters
	StartTime *time.Time
	EndTime   *time.Time

	// Dog and Walker are filled by Store.GetWalk and Store.ListWalksInProgress.
	Dog    *Dog
	Walker *Walker
}

// Complete reports whether the walk has ended.
func (w Walk) Complete() bool { return w.EndTime != nil }

// InProgress reports whether the walk has started and not ended.
func (w Walk) InProgress() bool { return w.StartTime != nil && w.EndTime == nil }

// Normalize trims surrounding spaces and applies defaults; call it before
// Validate on input from a person.
func (w *Walker) Normalize() {
	w.Name = strings.TrimSpace(w.Name)
	w.Email = strings.TrimSpace(w.Email)
}

// Validate checks a walker's fields; it returns FieldErrors or nil.
func (w Walker) Validate() error {
	errs := FieldErrors{}
	checkText(errs, "name", w.Name, MaxNameLength)
	if checkText(errs, "email", w.Email, MaxEmailLength) && !validEmail(w.Email) {
		errs["email"] = "Enter a valid email address."
	}
	return errs.OrNil()
}

// Normalize trims surrounding spaces and applies the default size.
func (d *Dog) Normalize() {
	d.Name = strings.TrimSpace(d.Name)
	if d.Size == "" {
		d.Size = DefaultSize
	}
}

// Validate checks a dog's fields; it returns FieldErrors or nil.
func (d Dog) Validate() error {
	errs := FieldErrors{}
	checkText(errs, "name", d.Name, MaxNameLength)
	if d.Age < 0 || d.Age > MaxAge {
		errs["age"] = "Enter a whole number from 0 to 40."
	}
	if !d.Size.Valid() {
		errs["size"] = "Select a valid choice: xs, sm, md, lg or xl."
	}
	return errs.OrNil()
}

// ValidateDistance checks a walk's distance in meters.
func ValidateDistance(meters int) error {
	if meters < 0 || meters > MaxDistance {
		return FieldErrors{"distance": "Enter a whole number of meters from 0 to 100000."}
	}
	return nil
}

// Messages for text no database should be asked to store: PostgreSQL
// refuses NUL and invalid UTF-8 outright, and SQLite would keep bytes that
// no page can show. (The NUL message is Django's, as the original said it.)
const (
	MsgInvalidUTF8 = "Enter text in valid UTF-8."
	MsgNullChar    = "Null characters are not allowed."
)

// checkText records the error of a required text field of at most max
// characters, if it has one, and reports whether it is valid.
func checkText(errs FieldErrors, field, s string, max int) bool {
	switch {
	case !utf8.ValidString(s):
		errs[field] = MsgInvalidUTF8
	case strings.IndexByte(s, 0) >= 0:
		errs[field] = MsgNullChar
	case s == "":
		errs[field] = "This field is required."
	case utf8.RuneCountInString(s) > max:
		errs[field] = tooLong(max)
	default:
		return true
	}
	return false
}

// tooLong is Django's message for text longer than max characters.
func tooLong(max int) string {
	return "Ensure this value has at most " + strconv.Itoa(max) + " characters."
}

// ParseID reads a record id as it appears in a URL or a form: a plain
// positive decimal number ("12"), without sign, spaces or leading zeros,
// so that one id has one spelling. ok is false for anything else.
func ParseID(s string) (id int64, ok bool) {
	// The first digit excludes a sign; ParseInt refuses any other non-digit.
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return id, true
	}
	return 0, false
}

// validEmail accepts a bare address (no display name) with a dotted domain.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// Store keeps walkers, dogs and walks. Implementations must be safe for
// concurrent use. Errors are ErrNotFound-wrapping *NotFoundError,
// ErrAlreadyComplete-wrapping *AlreadyCompleteError, FieldErrors for
// invalid input, errors wrapping ErrUnavailable when the database cannot
// answer now, or any other error (a bug).
type Store interface {
	// ListWalkers returns a page of walkers in name order (ignoring case),
	// then id. Bad input (q.Validate) gives FieldErrors.
	ListWalkers(ctx context.Context, q ListQuery) (Page[Walker], error)
	GetWalker(ctx context.Context, id int64) (Walker, error)
	// CreateWalker and UpdateWalker normalize and validate *w;
	// CreateWalker sets w.ID.
	CreateWalker(ctx context.Context, w *Walker) error
	UpdateWalker(ctx context.Context, w *Walker) error
	// DeleteWalker also deletes the walker's walks.
	DeleteWalker(ctx context.Context, id int64) error

	// ListDogs returns a page of dogs in name order, as ListWalkers.
	ListDogs(ctx context.Context, q ListQuery) (Page[Dog], error)
	// StartChoices is ListDogs and ListWalkers at once, for the start form
	// that shows both (one round trip to the database).
	StartChoices(ctx context.Context, dogs, walkers ListQuery) (Page[Dog], Page[Walker], error)
	GetDog(ctx context.Context, id int64) (Dog, error)
	// CreateDog and UpdateDog are CreateWalker and UpdateWalker for dogs.
	CreateDog(ctx context.Context, d *Dog) error
	UpdateDog(ctx context.Context, d *Dog) error
	DeleteDog(ctx context.Context, id int64) error

	// StartWalk creates a walk started at `at`. A dog or walker that does
	// not exist gives its *NotFoundError.
	StartWalk(ctx context.Context, dogID, walkerID int64, at time.Time) (Walk, error)
	// CompleteWalk ends a walk with one conditional update (only where
	// end_time is null): of two concurrent calls exactly one succeeds and
	// the other gets *AlreadyCompleteError.
	CompleteWalk(ctx context.Context, id int64, distance int, at time.Time) (Walk, error)
	// GetWalk returns the walk with its Dog and Walker.
	GetWalk(ctx context.Context, id int64) (Walk, error)
	// WalkComplete is the status lookup: one indexed read.
	WalkComplete(ctx context.Context, id int64) (bool, error)
	// ListWalksInProgress returns a page of started, unended walks, oldest
	// first (by start time, then id), with Dog and Walker (their names).
	// q.Search must be empty.
	ListWalksInProgress(ctx context.Context, q ListQuery) (Page[Walk], error)

	// Ping checks that the database answers (readiness).
	Ping(ctx context.Context) error
}
