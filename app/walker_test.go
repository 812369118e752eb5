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

// fieldError is the message err has on field ("" when none).
func fieldError(err error, field string) string {
	var fe walker.FieldErrors
	if errors.As(err, &fe) {
		return fe[field]
	}
	return ""
}

func TestValidation(t *testing.T) {
	t.Parallel()
	ann := func(name, email string) error { return walker.Walker{Name: name, Email: email}.Validate() }
	rex := func(name string, age int, size walker.Size) error {
		return walker.Dog{Name: name, Age: age, Size: size}.Validate()
	}
	const (
		required = "This field is required."
		tooLong  = "Ensure this value has at most 127 characters."
		badAge   = "Enter a whole number from 0 to 40."
		badSize  = "Select a valid choice: xs, sm, md, lg or xl."
	)
	long := strings.Repeat("é", walker.MaxNameLength) // runes count, not bytes
	cases := []struct {
		err        error
		field, msg string
	}{
		{ann("Ann", "ann@example.com"), "", ""},
		{ann("Zoë 🐕", "zoe@example.com"), "", ""},
		{ann(long, "a@b.co"), "", ""},
		{ann("", "a@b.co"), "name", required},
		{ann(long+"é", "a@b.co"), "name", tooLong},
		{ann("a\x00b", "a@b.co"), "name", walker.MsgNullChar},
		{ann("a\xffb", "a@b.co"), "name", walker.MsgInvalidUTF8},
		{ann("\xed\xa0\x80", "a@b.co"), "name", walker.MsgInvalidUTF8}, // a surrogate
		{ann("Ann", ""), "email", required},
		{ann("Ann", strings.Repeat("a", 120)+"@example.com"), "email", tooLong},
		{ann("Ann", "a@example.com\x00"), "email", walker.MsgNullChar},
		{ann("Ann", "\xc3@example.com"), "email", walker.MsgInvalidUTF8},
		{rex("Rex", walker.MaxAge, walker.SizeXL), "", ""},
		{rex("", 1, walker.SizeMD), "name", required},
		{rex("R\x80x", 1, walker.SizeMD), "name", walker.MsgInvalidUTF8},
		{rex("\x00", 1, walker.SizeMD), "name", walker.MsgNullChar},
		{rex("Rex", -1, walker.SizeXS), "age", badAge},
		{rex("Rex", walker.MaxAge+1, walker.SizeXS), "age", badAge},
		{rex("Rex", 1, "huge"), "size", badSize},
		{rex("Rex", 1, ""), "size", badSize}, // Validate applies no default
		{walker.ValidateDistance(0), "", ""},
		{walker.ValidateDistance(walker.MaxDistance), "", ""},
		{walker.ValidateDistance(-1), "distance", "Enter a whole number of meters from 0 to 100000."},
		{walker.ValidateDistance(walker.MaxDistance + 1), "distance", "Enter a whole number of meters from 0 to 100000."},
	}
	for i, c := range cases {
		if got := fieldError(c.err, c.field); (c.field == "") != (c.err == nil) || got != c.msg {
			t.Errorf("case %d: %v; want %s %q", i, c.err, c.field, c.msg)
		}
	}
	for _, bad := range []string{"ann", "ann@", "@example.com", "ann@example", "ann@.example.com", "ann@example.com.", "Ann <ann@example.com>", "a@example.com, b@example.com"} {
		if got := fieldError(ann("Ann", bad), "email"); got != "Enter a valid email address." {
			t.Errorf("email %q: %q", bad, got)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	w := walker.Walker{Name: "  Ann \n", Email: " ann@example.com\t"}
	w.Normalize()
	d := walker.Dog{Name: " Rex "}
	d.Normalize()
	if w != (walker.Walker{Name: "Ann", Email: "ann@example.com"}) || d != (walker.Dog{Name: "Rex", Size: walker.DefaultSize}) {
		t.Errorf("normalized %+v and %+v", w, d)
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	labels := map[walker.Size]string{"xs": "xsmall", "sm": "small", "md": "medium", "lg": "large", "xl": "xlarge"}
	for _, s := range walker.Sizes {
		if !s.Valid() || s.Label() != labels[s] {
			t.Errorf("size %q: valid %v, label %q; want valid, %q", s, s.Valid(), s.Label(), labels[s])
		}
	}
	for _, s := range []walker.Size{"", "XL", "xxl", "medium"} {
		if s.Valid() {
			t.Errorf("size %q is valid", s)
		}
	}
	if len(walker.Sizes) != len(labels) || walker.DefaultSize != walker.SizeMD {
		t.Errorf("sizes %v, default %q", walker.Sizes, walker.DefaultSize)
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
		{walker.ListQuery{Limit: 1, Search: strings.Repeat("é", 128)}, "q"},
		{walker.ListQuery{Limit: 1, Search: "a\x00"}, "q"},
		{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: "a", ID: -1}}, "after"},
		{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: "a\x00", ID: 1}}, "after"},
		{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: strings.Repeat("x", 600), ID: 1}}, "after"},
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
