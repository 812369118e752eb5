package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

type apiError struct {
	Error  string             `json:"error"`
	Fields walker.FieldErrors `json:"fields,omitempty"`
}

type walkerJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type dogJSON struct {
	ID   int64       `json:"id"`
	Name string      `json:"name"`
	Age  int         `json:"age"`
	Size walker.Size `json:"size"`
}

type walkJSON struct {
	ID        int64      `json:"id"`
	Dog       int64      `json:"dog"`
	Walker    int64      `json:"walker"`
	Distance  int        `json:"distance"`
	StartTime *time.Time `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	Complete  bool       `json:"complete"`
}

func toWalkerJSON(w walker.Walker) walkerJSON {
	return walkerJSON{ID: w.ID, Name: w.Name, Email: w.Email}
}
func toDogJSON(d walker.Dog) dogJSON {
	return dogJSON{ID: d.ID, Name: d.Name, Age: d.Age, Size: d.Size}
}
func toWalkJSON(w walker.Walk) walkJSON {
	return walkJSON{ID: w.ID, Dog: w.DogID, Walker: w.WalkerID, Distance: w.Distance,
		StartTime: w.StartTime, EndTime: w.EndTime, Complete: w.Complete()}
}

// decode reads exactly one JSON object with known fields into v.
func (s *server) decode(c *gin.Context, v any) bool {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("a single JSON object expected")
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			c.JSON(http.StatusRequestEntityTooLarge, apiError{Error: "request body too large"})
			return false
		}
		c.JSON(http.StatusBadRequest, apiError{Error: "invalid JSON: " + err.Error()})
		return false
	}
	return true
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
		switch b[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
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
		default: // " \ /
			out = append(out, b[i])
		}
	}
	*t = text(out)
	return nil
}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}

// apiStoreError answers a store error as JSON.
func (s *server) apiStoreError(c *gin.Context, err error) {
	var fe walker.FieldErrors
	if errors.As(err, &fe) {
		c.JSON(http.StatusBadRequest, apiError{Error: "invalid input", Fields: fe})
		return
	}
	s.storeError(c, err)
}

func (s *server) apiID(c *gin.Context, entity string) (int64, bool) {
	id, ok := pathID(c)
	if !ok {
		c.JSON(http.StatusNotFound, apiError{Error: fmt.Sprintf("no %s with ID %s found", entity, c.Param("id"))})
	}
	return id, ok
}

func (s *server) apiListWalkers(c *gin.Context) {
	q, err := apiListQuery(c)
	var p walker.Page[walker.Walker]
	if err == nil {
		p, err = s.Store.ListWalkers(c, q)
	}
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	out := make([]walkerJSON, len(p.Items))
	for i, w := range p.Items {
		out[i] = toWalkerJSON(w)
	}
	setNextLink(c, "/api/walkers", q, p.Next)
	c.JSON(http.StatusOK, out)
}

func (s *server) apiGetWalker(c *gin.Context) {
	id, ok := s.apiID(c, "walker")
	if !ok {
		return
	}
	w, err := s.Store.GetWalker(c, id)
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWalkerJSON(w))
}

type walkerInput struct {
	Name  text `json:"name"`
	Email text `json:"email"`
}

func (s *server) apiCreateWalker(c *gin.Context) {
	var in walkerInput
	if !s.decode(c, &in) {
		return
	}
	w := walker.Walker{Name: string(in.Name), Email: string(in.Email)}
	if err := s.Store.CreateWalker(c, &w); err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toWalkerJSON(w))
}

func (s *server) apiUpdateWalker(c *gin.Context) {
	id, ok := s.apiID(c, "walker")
	if !ok {
		return
	}
	var in walkerInput
	if !s.decode(c, &in) {
		return
	}
	w := walker.Walker{ID: id, Name: string(in.Name), Email: string(in.Email)}
	if err := s.Store.UpdateWalker(c, &w); err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWalkerJSON(w))
}

func (s *server) apiDeleteWalker(c *gin.Context) {
	id, ok := s.apiID(c, "walker")
	if !ok {
		return
	}
	if err := s.Store.DeleteWalker(c, id); err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) apiListDogs(c *gin.Context) {
	q, err := apiListQuery(c)
	var p walker.Page[walker.Dog]
	if err == nil {
		p, err = s.Store.ListDogs(c, q)
	}
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	out := make([]dogJSON, len(p.Items))
	for i, d := range p.Items {
		out[i] = toDogJSON(d)
	}
	setNextLink(c, "/api/dogs", q, p.Next)
	c.JSON(http.StatusOK, out)
}

func (s *server) apiGetDog(c *gin.Context) {
	id, ok := s.apiID(c, "dog")
	if !ok {
		return
	}
	d, err := s.Store.GetDog(c, id)
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDogJSON(d))
}

type dogInput struct {
	Name text        `json:"name"`
	Age  *int        `json:"age"`
	Size walker.Size `json:"size"`
}

func (in dogInput) dog(id int64) (walker.Dog, error) {
	if in.Age == nil {
		return walker.Dog{}, walker.FieldErrors{"age": "This field is required."}
	}
	return walker.Dog{ID: id, Name: string(in.Name), Age: *in.Age, Size: in.Size}, nil
}

func (s *server) apiCreateDog(c *gin.Context) {
	var in dogInput
	if !s.decode(c, &in) {
		return
	}
	d, err := in.dog(0)
	if err == nil {
		err = s.Store.CreateDog(c, &d)
	}
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toDogJSON(d))
}

func (s *server) apiUpdateDog(c *gin.Context) {
	id, ok := s.apiID(c, "dog")
	if !ok {
		return
	}
	var in dogInput
	if !s.decode(c, &in) {
		return
	}
	d, err := in.dog(id)
	if err == nil {
		err = s.Store.UpdateDog(c, &d)
	}
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDogJSON(d))
}

func (s *server) apiDeleteDog(c *gin.Context) {
	id, ok := s.apiID(c, "dog")
	if !ok {
		return
	}
	if err := s.Store.DeleteDog(c, id); err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) apiStartWalk(c *gin.Context) {
	var in struct {
		Dog    int64 `json:"dog"`
		Walker int64 `json:"walker"`
	}
	if !s.decode(c, &in) {
		return
	}
	errs := walker.FieldErrors{}
	if in.Dog <= 0 {
		errs["dog"] = "A positive dog id is required."
	}
	if in.Walker <= 0 {
		errs["walker"] = "A positive walker id is required."
	}
	var walk walker.Walk
	if len(errs) == 0 {
		var err error
		walk, err = s.Store.StartWalk(c, in.Dog, in.Walker, s.Now())
		var nf *walker.NotFoundError
		switch {
		case errors.As(err, &nf):
			errs[nf.Entity] = nf.Error()
		case err != nil:
			s.apiStoreError(c, err)
			return
		}
	}
	if len(errs) > 0 {
		s.Walks.Invalid()
		c.JSON(http.StatusBadRequest, apiError{Error: "invalid walk", Fields: errs})
		return
	}
	s.Walks.Started(c.Request.Context())
	c.JSON(http.StatusCreated, toWalkJSON(walk))
}

// apiListWalks lists the walks in progress, oldest first, as the /walks/
// page does.
func (s *server) apiListWalks(c *gin.Context) {
	q, err := apiListQuery(c)
	var p walker.Page[walker.Walk]
	if err == nil {
		p, err = s.Store.ListWalksInProgress(c, q)
	}
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	out := make([]walkJSON, len(p.Items))
	for i, w := range p.Items {
		out[i] = toWalkJSON(w)
	}
	setNextLink(c, "/api/walks", q, p.Next)
	c.JSON(http.StatusOK, out)
}

func (s *server) apiGetWalk(c *gin.Context) {
	id, ok := s.apiID(c, "walk")
	if !ok {
		return
	}
	w, err := s.Store.GetWalk(c, id)
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWalkJSON(w))
}

func (s *server) apiCompleteWalk(c *gin.Context) {
	id, ok := s.apiID(c, "walk")
	if !ok {
		return
	}
	var in struct {
		Distance *int `json:"distance"`
	}
	if !s.decode(c, &in) {
		return
	}
	if in.Distance == nil {
		c.JSON(http.StatusBadRequest, apiError{Error: "invalid input", Fields: walker.FieldErrors{"distance": "This field is required."}})
		return
	}
	w, err := s.Store.CompleteWalk(c, id, *in.Distance, s.Now())
	if err != nil {
		s.apiStoreError(c, err)
		return
	}
	s.Walks.Completed(c.Request.Context(), w.Distance)
	c.JSON(http.StatusOK, toWalkJSON(w))
}
