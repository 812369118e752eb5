package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// decode reads exactly one JSON object with known fields into v.
func decode(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("a single JSON object expected")
	}
	if err != nil {
		return bodyError(err, "invalid JSON")
	}
	return nil
}

var errTooLarge = errorf(http.StatusRequestEntityTooLarge, "request body too large")

// bodyError is the error of a body that could not be read: too large
// (413) or malformed (400).
func bodyError(err error, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	}
	return errorf(http.StatusBadRequest, "%s: %v", what, err)
}

// text is a JSON string decoded exactly. encoding/json replaces invalid
// UTF-8 and lone UTF-16 surrogates (\ud800) with U+FFFD, so a name the
// client never sent would be stored and answered 201; text keeps such input
// invalid (a lone surrogate as its 3-byte WTF-8 form, which is not UTF-8),
// and the domain's validation refuses it with the same field error as on
// the forms.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json does for a string
	}
	if len(b) < 2 || b[0] != '"' {
		var s string
		return json.Unmarshal(b, &s) // the decoder's own type error
	}
	// The decoder has checked the token's syntax: escapes are well formed.
	out := make([]byte, 0, len(b))
	for i := 1; i < len(b)-1; i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		i++
		if b[i] != 'u' {
			out = append(out, jsonEscapes[b[i]])
			continue
		}
		r := hex4(b[i+1 : i+5])
		i += 4
		if utf16.IsSurrogate(r) && i+6 < len(b)-1 && b[i+1] == '\\' && b[i+2] == 'u' {
			if pair := utf16.DecodeRune(r, hex4(b[i+3:i+7])); pair != utf8.RuneError {
				out = utf8.AppendRune(out, pair)
				i += 6
				continue
			}
		}
		if utf16.IsSurrogate(r) {
			out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	*t = text(out)
	return nil
}

// jsonEscapes are what JSON's escapes other than \u stand for.
var jsonEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}
