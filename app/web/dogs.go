package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// Dogs: the pages and the JSON API.

type dogForm struct {
	Dog    walker.Dog
	Age    string
	Action string
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

func (s *server) listDogs(c *gin.Context) error {
	return renderList(s, c, s.Store.ListDogs, "dogs.html", "Dogs")
}

func (s *server) dogForm(c *gin.Context) error {
	id, err := editID(c, "dog")
	d := walker.Dog{Size: walker.DefaultSize}
	if err == nil && id != 0 {
		d, err = s.Store.GetDog(c, id)
	}
	if err != nil {
		return err
	}
	age := ""
	if id != 0 {
		age = strconv.Itoa(d.Age)
	}
	s.renderForm(c, http.StatusOK, "dog", id, nil, dogForm{Dog: d, Age: age, Action: c.Request.URL.Path})
	return nil
}

// saveDog is the new and the edit form's POST; an age that is no number
// is a field error.
func (s *server) saveDog(c *gin.Context) error {
	id, err := editID(c, "dog")
	if err != nil {
		return err
	}
	age := strings.TrimSpace(c.PostForm("age"))
	d := walker.Dog{ID: id, Name: c.PostForm("name"), Size: walker.Size(c.PostForm("size"))}
	switch n, aerr := strconv.Atoi(age); {
	case age == "":
		err = walker.FieldErrors{"age": "This field is required."}
	case aerr != nil:
		err = walker.FieldErrors{"age": "Enter a whole number."}
	default:
		d.Age = n
		err = save(c, &d, id, s.Store.CreateDog, s.Store.UpdateDog)
	}
	return s.saved(c, err, "dog", d.Name, id, dogForm{Dog: d, Age: age, Action: c.Request.URL.Path})
}

// deleteDog is the page's POST and the API's DELETE.
func (s *server) deleteDog(c *gin.Context) error {
	return s.remove(c, "dog", s.Store.DeleteDog, "Dog deleted, with its walks.")
}

func (s *server) apiListDogs(c *gin.Context) error {
	return apiList(c, s.Store.ListDogs, toDogJSON)
}

func (s *server) apiGetDog(c *gin.Context) error {
	return apiGet(c, "dog", s.Store.GetDog, toDogJSON)
}

// apiSaveDog is POST /api/dogs and PUT /api/dogs/:id.
func (s *server) apiSaveDog(c *gin.Context) error {
	id, err := editID(c, "dog")
	var in struct {
		Name text        `json:"name"`
		Age  *int        `json:"age"`
		Size walker.Size `json:"size"`
	}
	if err == nil {
		err = decode(c, &in)
	}
	if err == nil && in.Age == nil {
		err = walker.FieldErrors{"age": "This field is required."}
	}
	if err != nil {
		return err
	}
	d := walker.Dog{ID: id, Name: string(in.Name), Age: *in.Age, Size: in.Size}
	if err := save(c, &d, id, s.Store.CreateDog, s.Store.UpdateDog); err != nil {
		return err
	}
	c.JSON(savedStatus(id), toDogJSON(d))
	return nil
}
