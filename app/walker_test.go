package walker_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	walker "github.com/walkerhq/walker/app"
)

func TestParseID(t *testing.T) {
	t.Parallel()
	valid := map[string]int64{"1": 1, "42": 42, "9223372036854775807": 1<<63 - 1}
	for s, want := range valid {
		if got, ok := walker.ParseID(s); !ok || got != want {
			t.Errorf("ParseID(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "0", "00", "01", "+1", "-1", " 1", "1 ", "1.0", "1e3", "0x1", "١", "9223372036854775808", "99999999999999999999"} {
		if got, ok := walker.ParseID(s); ok {
			t.Errorf("ParseID(%q) = %d, accepted", s, got)
		}
	}
}

func TestTextValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		err   error
		field string
		msg   string
	}{
		{"walker NUL name", walker.Walker{Name: "a\x00b", Email: "a@example.com"}.Validate(), "name", walker.MsgNullChar},
		{"walker invalid name", walker.Walker{Name: "a\xffb", Email: "a@example.com"}.Validate(), "name", walker.MsgInvalidUTF8},
		{"walker surrogate name", walker.Walker{Name: "\xed\xa0\x80", Email: "a@example.com"}.Validate(), "name", walker.MsgInvalidUTF8},
		{"walker NUL email", walker.Walker{Name: "A", Email: "a@example.com\x00"}.Validate(), "email", walker.MsgNullChar},
		{"walker invalid email", walker.Walker{Name: "A", Email: "\xc3@example.com"}.Validate(), "email", walker.MsgInvalidUTF8},
		{"dog NUL name", walker.Dog{Name: "\x00", Size: walker.SizeMD}.Validate(), "name", walker.MsgNullChar},
		{"dog invalid name", walker.Dog{Name: "R\x80x", Size: walker.SizeMD}.Validate(), "name", walker.MsgInvalidUTF8},
	}
	for _, c := range cases {
		var fe walker.FieldErrors
		if !errors.As(c.err, &fe) || fe[c.field] != c.msg {
			t.Errorf("%s: %v, want %s: %q", c.name, c.err, c.field, c.msg)
		}
	}
	if err := (walker.Walker{Name: "Zoë 🐕", Email: "zoe@example.com"}).Validate(); err != nil {
		t.Errorf("a valid UTF-8 name is refused: %v", err)
	}
}

// fieldError is the message err has on field ("" when none).
func fieldError(err error, field string) string {
	var fe walker.FieldErrors
	if errors.As(err, &fe) {
		return fe[field]
	}
	return ""
}

func TestSizes(t *testing.T) {
	t.Parallel()
	labels := map[walker.Size]string{"xs": "xsmall", "sm": "small", "md": "medium", "lg": "large", "xl": "xlarge"}
	for _, s := range walker.Sizes {
		if !s.Valid() || s.Label() != labels[s] {
			t.Errorf("size %q: valid %v, label %q; want valid, %q", s, s.Valid(), s.Label(), labels[s])
		}
	}
	if len(walker.Sizes) != len(labels) || walker.DefaultSize != walker.SizeMD {
		t.Errorf("sizes %v, default %q", walker.Sizes, walker.DefaultSize)
	}
	for _, s := range []walker.Size{"", "XL", "xxl", "medium"} {
		if s.Valid() {
			t.Errorf("size %q is valid", s)
		}
	}
}

func TestWalkerValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", walker.MaxNameLength+1) // runes count, not bytes
	cases := []struct {
		w            walker.Walker
		field, error string
	}{
		{walker.Walker{Name: "Ann", Email: "ann@example.com"}, "", ""},
		{walker.Walker{Name: strings.Repeat("é", walker.MaxNameLength), Email: "a@b.co"}, "", ""},
		{walker.Walker{Name: "", Email: "ann@example.com"}, "name", "This field is required."},
		{walker.Walker{Name: long, Email: "ann@example.com"}, "name", "Ensure this value has at most 127 characters."},
		{walker.Walker{Name: "Ann", Email: ""}, "email", "This field is required."},
		{walker.Walker{Name: "Ann", Email: strings.Repeat("a", 120) + "@example.com"}, "email", "Ensure this value has at most 127 characters."},
	}
	for _, bad := range []string{"ann", "ann@", "@example.com", "ann@example", "ann@.example.com", "ann@example.com.", "Ann <ann@example.com>", "ann@example.com, bob@example.com"} {
		cases = append(cases, struct {
			w            walker.Walker
			field, error string
		}{walker.Walker{Name: "Ann", Email: bad}, "email", "Enter a valid email address."})
	}
	for _, c := range cases {
		err := c.w.Validate()
		if got := fieldError(err, c.field); (c.field == "") != (err == nil) || got != c.error {
			t.Errorf("%+v: %v, want %s %q", c.w, err, c.field, c.error)
		}
	}
	w := walker.Walker{Name: "  Ann \n", Email: " ann@example.com\t"}
	w.Normalize()
	if w != (walker.Walker{Name: "Ann", Email: "ann@example.com"}) {
		t.Errorf("normalized walker %+v", w)
	}
}

func TestDogValidation(t *testing.T) {
	t.Parallel()
	d := walker.Dog{Name: " Rex "}
	d.Normalize()
	if d.Name != "Rex" || d.Size != walker.DefaultSize || d.Validate() != nil {
		t.Errorf("normalized dog %+v: %v", d, d.Validate())
	}
	cases := []struct {
		d            walker.Dog
		field, error string
	}{
		{walker.Dog{Name: "Rex", Age: walker.MaxAge, Size: walker.SizeXL}, "", ""},
		{walker.Dog{Name: "Rex", Age: -1, Size: walker.SizeXS}, "age", "Enter a whole number from 0 to 40."},
		{walker.Dog{Name: "Rex", Age: walker.MaxAge + 1, Size: walker.SizeXS}, "age", "Enter a whole number from 0 to 40."},
		{walker.Dog{Name: "Rex", Size: "huge"}, "size", "Select a valid choice: xs, sm, md, lg or xl."},
		{walker.Dog{Name: "Rex"}, "size", "Select a valid choice: xs, sm, md, lg or xl."}, // Validate applies no default
		{walker.Dog{Size: walker.SizeMD}, "name", "This field is required."},
	}
	for _, c := range cases {
		err := c.d.Validate()
		if got := fieldError(err, c.field); (c.field == "") != (err == nil) || got != c.error {
			t.Errorf("%+v: %v, want %s %q", c.d, err, c.field, c.error)
		}
	}
}

func TestValidateDistance(t *testing.T) {
	t.Parallel()
	for _, m := range []int{0, 1, walker.MaxDistance} {
		if err := walker.ValidateDistance(m); err != nil {
			t.Errorf("distance %d: %v", m, err)
		}
	}
	for _, m := range []int{-1, walker.MaxDistance + 1} {
		if fieldError(walker.ValidateDistance(m), "distance") == "" {
			t.Errorf("distance %d accepted", m)
		}
	}
}

func TestListQuery(t *testing.T) {
	t.Parallel()
	q := walker.ListQuery{Search: "  Al "}
	q.Normalize()
	if q.Search != "Al" || q.Limit != walker.DefaultPageSize || q.Validate() != nil {
		t.Errorf("normalized query %+v: %v", q, q.Validate())
	}
	for _, c := range []struct {
		q     walker.ListQuery
		field string
	}{
		{walker.ListQuery{Limit: 0}, "limit"},
		{walker.ListQuery{Limit: walker.MaxPageSize + 1}, "limit"},
		{walker.ListQuery{Limit: 1, Search: strings.Repeat("x", 128)}, "q"},
		{walker.ListQuery{Limit: 1, Search: "a\x00"}, "q"},
		{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: "a", ID: -1}}, "after"},
		{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: "\xff", ID: 1}}, "after"},
	} {
		if fieldError(c.q.Validate(), c.field) == "" {
			t.Errorf("%+v: %v, want an error on %s", c.q, c.q.Validate(), c.field)
		}
	}
}

func TestCursorsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []walker.Cursor{{Key: "alice smith", ID: 42}, {Key: "", ID: 7}, {Key: "zoë.x", ID: 1 << 60}} {
		got, err := walker.ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	if c, err := walker.ParseCursor(""); err != nil || !c.IsZero() || c.String() != "" {
		t.Errorf(`ParseCursor("") = %+v, %v; want the zero cursor`, c, err)
	}
	for _, bad := range []string{"x", "0.YQ", "-1.YQ", "1.***", "1", "1.YQ.YQ", "abc.YQ", "1.AA"} {
		if _, err := walker.ParseCursor(bad); fieldError(err, "after") != walker.BadCursor {
			t.Errorf("ParseCursor(%q) = %v, want an error on after", bad, err)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	nf := fmt.Errorf("wrapped: %w", &walker.NotFoundError{Entity: "walk", ID: 5})
	done := fmt.Errorf("wrapped: %w", &walker.AlreadyCompleteError{ID: 5})
	if !errors.Is(nf, walker.ErrNotFound) || errors.Is(nf, walker.ErrAlreadyComplete) || !strings.HasSuffix(nf.Error(), "no walk with ID 5 found") {
		t.Errorf("not found: %v", nf)
	}
	if !errors.Is(done, walker.ErrAlreadyComplete) || errors.Is(done, walker.ErrNotFound) || !strings.HasSuffix(done.Error(), "walk 5 is already complete") {
		t.Errorf("already complete: %v", done)
	}
	fe := walker.FieldErrors{"name": "a", "age": "b"}
	if fe.Error() != "invalid input: age: b; name: a" || (walker.FieldErrors{}).OrNil() != nil {
		t.Errorf("field errors: %q, empty: %v", fe.Error(), (walker.FieldErrors{}).OrNil())
	}
}
