package walker_test

import (
	"errors"
	"testing"

	walker "github.com/walkerhq/walker/app"
)

func TestParseID(t *testing.T) {
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
