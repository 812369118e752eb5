package web

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// Dogs: the pages and the JSON API (entity). The form's age is text: it
// comes back as typed when it is no number.

func newDogs(s *server) *entity[walker.Dog, dogJSON] {
	return &entity[walker.Dog, dogJSON]{
		server: s, kind: "dog", their: "its",
		list: s.Store.ListDogs, get: s.Store.GetDog,
		create: s.Store.CreateDog, update: s.Store.UpdateDog, delete: s.Store.DeleteDog,
		nameOf:   func(d walker.Dog) string { return d.Name },
		toJSON:   toDogJSON,
		fromJSON: dogFromJSON,
		fromForm: dogFromForm,
		blank:    walker.Dog{Size: walker.DefaultSize},
		text:     func(d walker.Dog) map[string]string { return map[string]string{"age": strconv.Itoa(d.Age)} },
	}
}

type dogJSON struct {
	ID   int64       `json:"id"`
	Name string      `json:"name"`
	Age  int         `json:"age"`
	Size walker.Size `json:"size"`
}

func toDogJSON(d walker.Dog) dogJSON {
	return dogJSON{ID: d.ID, Name: d.Name, Age: d.Age, Size: d.Size}
}

func dogFromJSON(c *gin.Context, id int64) (walker.Dog, error) {
	var in struct {
		Name text        `json:"name"`
		Age  *int        `json:"age"`
		Size walker.Size `json:"size"`
	}
	if err := decode(c, &in); err != nil {
		return walker.Dog{}, err
	}
	if in.Age == nil {
		return walker.Dog{}, walker.FieldErrors{"age": "This field is required."}
	}
	return walker.Dog{ID: id, Name: string(in.Name), Age: *in.Age, Size: in.Size}, nil
}

func dogFromForm(c *gin.Context, id int64) (walker.Dog, map[string]string, error) {
	age := strings.TrimSpace(c.PostForm("age"))
	n, err := wholeNumber("age", age)
	d := walker.Dog{ID: id, Name: c.PostForm("name"), Age: n, Size: walker.Size(c.PostForm("size"))}
	return d, map[string]string{"age": age}, err
}
