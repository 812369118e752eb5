package walker_test

import (
	"errors"
	"testing"

	walker "github.com/walkerhq/walker/app"
)

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
