package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// entity is a kind of record with pages and a JSON API of its own: walkers
// and dogs (walkers.go, dogs.go). R is the record, J its JSON.
type entity[R, J any] struct {
	*server
	kind  string // "walker": /walkers/, "New walker", "Walker Bob added."
	their string // "Dog deleted, with its walks."

	list           func(context.Context, walker.ListQuery) (walker.Page[R], error)
	get            func(context.Context, int64) (R, error)
	create, update func(context.Context, *R) error
	delete         func(context.Context, int64) error

	nameOf   func(R) string
	toJSON   func(R) J
	fromJSON func(c *gin.Context, id int64) (R, error)
	// fromForm reads the posted form into record id, and as typed the
	// fields that the record holds as other than text (a dog's age): the
	// form shows them again if they are invalid (FieldErrors).
	fromForm func(c *gin.Context, id int64) (R, map[string]string, error)
	// blank is the new form's record; text, if set, is the edit form's
	// text of those fields.
	blank R
	text  func(R) map[string]string
}

// routes mounts the entity's pages (/walkers/...) and API (/api/walkers...).
func (e *entity[R, J]) routes(pages, api *gin.RouterGroup) {
	list := "/" + e.kind + "s/"
	pages.GET(list, e.h(e.listPage))
	pages.GET(list+"new/", e.h(e.form))
	pages.POST(list+"new/", e.h(e.save))
	pages.GET(list+":id/edit/", e.h(e.form))
	pages.POST(list+":id/edit/", e.h(e.save))
	pages.POST(list+":id/delete/", e.h(e.remove))

	collection := "/" + e.kind + "s"
	api.GET(collection, e.h(e.listJSON))
	api.POST(collection, e.h(e.saveJSON))
	api.GET(collection+"/:id", e.h(e.getJSON))
	api.PUT(collection+"/:id", e.h(e.saveJSON))
	api.DELETE(collection+"/:id", e.h(e.remove))
}

// title is the kind as a sentence starts it: "Walker".
func (e *entity[R, J]) title() string { return strings.ToUpper(e.kind[:1]) + e.kind[1:] }

// entityList is an entity's list page: its rows and its kind, for the
// template all share ("records", in layout.html).
type entityList[R any] struct {
	listPage[R]
	Kind string
}

func (e *entity[R, J]) listPage(c *gin.Context) error {
	lp, err := readList(c, e.list)
	if err != nil {
		return err
	}
	e.render(c, http.StatusOK, e.kind+"s.html", e.title()+"s", nil, entityList[R]{lp, e.kind})
	return nil
}

// entityForm is what an entity's form ("record-form", in layout.html)
// shows: the record and, as typed, the fields it holds as other than text.
type entityForm[R any] struct {
	Record R
	Text   map[string]string
	Action string
}

// form is the new and the edit form.
func (e *entity[R, J]) form(c *gin.Context) error {
	id, err := editID(c, e.kind)
	r := e.blank
	if err == nil && id != 0 {
		r, err = e.get(c, id)
	}
	if err != nil {
		return err
	}
	var text map[string]string
	if id != 0 && e.text != nil {
		text = e.text(r)
	}
	e.renderForm(c, http.StatusOK, id, nil, entityForm[R]{r, text, c.Request.URL.Path})
	return nil
}

func (e *entity[R, J]) renderForm(c *gin.Context, status int, id int64, errs walker.FieldErrors, f entityForm[R]) {
	title := "Edit " + e.kind
	if id == 0 {
		title = "New " + e.kind
	}
	e.render(c, status, e.kind+"_form.html", title, errs, f)
}

// save is the new and the edit form's POST: the form again with its field
// errors, or the entity's list with a flash message.
func (e *entity[R, J]) save(c *gin.Context) error {
	id, err := editID(c, e.kind)
	if err != nil {
		return err
	}
	r, text, err := e.fromForm(c, id)
	if err == nil {
		err = e.store(c, &r, id)
	}
	var errs walker.FieldErrors
	switch {
	case errors.As(err, &errs):
		e.renderForm(c, http.StatusBadRequest, id, errs, entityForm[R]{r, text, c.Request.URL.Path})
		return nil
	case err != nil:
		return err
	}
	verb := "saved"
	if id == 0 {
		verb = "added"
	}
	e.flash(c, e.title()+" "+e.nameOf(r)+" "+verb+".")
	c.Redirect(http.StatusFound, "/"+e.kind+"s/")
	return nil
}

// store creates r (id 0) or updates it.
func (e *entity[R, J]) store(ctx context.Context, r *R, id int64) error {
	if id == 0 {
		return e.create(ctx, r)
	}
	return e.update(ctx, r)
}

// remove deletes the record of the URL's id, with its walks: the page's
// POST goes back to the list with a flash message, the API's DELETE
// answers 204.
func (e *entity[R, J]) remove(c *gin.Context) error {
	id, err := pathID(c, e.kind)
	if err != nil {
		return err
	}
	if err := e.delete(c, id); err != nil {
		return err
	}
	if c.GetBool(jsonRoute) {
		c.Status(http.StatusNoContent)
		return nil
	}
	e.flash(c, e.title()+" deleted, with "+e.their+" walks.")
	c.Redirect(http.StatusFound, "/"+e.kind+"s/")
	return nil
}

func (e *entity[R, J]) listJSON(c *gin.Context) error { return apiList(c, e.list, e.toJSON) }

func (e *entity[R, J]) getJSON(c *gin.Context) error { return apiGet(c, e.kind, e.get, e.toJSON) }

// saveJSON is POST /api/walkers (201) and PUT /api/walkers/:id (200).
func (e *entity[R, J]) saveJSON(c *gin.Context) error {
	id, err := editID(c, e.kind)
	if err != nil {
		return err
	}
	r, err := e.fromJSON(c, id)
	if err == nil {
		err = e.store(c, &r, id)
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
	}
	c.JSON(status, e.toJSON(r))
	return nil
}

// pathID reads the id in the URL, a plain positive decimal number
// (walker.ParseID); anything else is a 404 (the URL names nothing), so
// /walkers/+2/delete/ does not delete walker 2.
func pathID(c *gin.Context, entity string) (int64, error) {
	id, ok := walker.ParseID(c.Param("id"))
	if !ok {
		return 0, errorf(http.StatusNotFound, "no %s with ID %s found", entity, c.Param("id"))
	}
	return id, nil
}

// editID is pathID on an edit route, 0 on a create route (no id).
func editID(c *gin.Context, entity string) (int64, error) {
	if c.Param("id") == "" {
		return 0, nil
	}
	return pathID(c, entity)
}

// apiGet answers the record of the URL's id in JSON.
func apiGet[T, J any](c *gin.Context, entity string, get func(context.Context, int64) (T, error), toJSON func(T) J) error {
	id, err := pathID(c, entity)
	if err != nil {
		return err
	}
	v, err := get(c, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toJSON(v))
	return nil
}
