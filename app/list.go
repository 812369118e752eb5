package walker

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Page sizes of the lists: a page never loads a whole table.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// maxCursorKey bounds a cursor's key in bytes: a lower-cased name of
// MaxNameLength runes, or a timestamp, is far shorter.
const maxCursorKey = 4 * (MaxNameLength + 1)

// ListQuery asks for one page of a list, in the list's order: at most Limit
// rows after the cursor, and for walkers and dogs only those whose name
// starts with Search (ignoring case).
type ListQuery struct {
	Search string
	After  Cursor
	Limit  int
}

// Normalize trims the search and applies the default page size; call it
// before Validate on input from a person.
func (q *ListQuery) Normalize() {
	q.Search = strings.TrimSpace(q.Search)
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
}

// Validate checks the query; it returns FieldErrors (on "q", "after" or
// "limit") or nil.
func (q ListQuery) Validate() error {
	errs := FieldErrors{}
	switch {
	case !validText(q.Search):
		errs["q"] = "Enter text without control characters."
	case utf8.RuneCountInString(q.Search) > MaxNameLength:
		errs["q"] = tooLong(MaxNameLength)
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		errs["limit"] = "Enter a whole number from 1 to 500."
	}
	if !q.After.IsZero() && (q.After.ID <= 0 || len(q.After.Key) > maxCursorKey || !validText(q.After.Key)) {
		errs["after"] = BadCursor
	}
	return errs.OrNil()
}

// BadCursor is the error of a cursor that no next-page link made.
const BadCursor = "Invalid page cursor: follow a next-page link, or leave it out for the first page."

// validText is valid UTF-8 without NUL, which no database text column takes.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// Cursor is where a page starts: right after the row with this sort key and
// id. It carries the key, not just the id, so that paging goes on correctly
// after that row was deleted.
type Cursor struct {
	Key string
	ID  int64
}

// IsZero reports whether c is no cursor: the first page.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// String is the cursor as it travels in URLs: the id, a dot and the key in
// unpadded base64url. The zero cursor is "".
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.ID, 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(c.Key))
}

// ParseCursor reads what String wrote; "" is the zero cursor. Anything else
// is FieldErrors{"after": ...}.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := FieldErrors{"after": BadCursor}
	id, key, ok := strings.Cut(s, ".")
	if !ok || len(key) > base64.RawURLEncoding.EncodedLen(maxCursorKey) {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return Cursor{}, bad
	}
	k, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || !validText(string(k)) {
		return Cursor{}, bad
	}
	return Cursor{Key: string(k), ID: n}, nil
}

// Page is one page of a list and where the next one starts (zero when this
// is the last page).
type Page[T any] struct {
	Items []T
	Next  Cursor
}
