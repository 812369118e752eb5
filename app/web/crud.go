package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// What the handlers of walkers, dogs and walks share.

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

// renderForm renders an entity's form: new (id 0) or edit.
func (s *server) renderForm(c *gin.Context, status int, entity string, id int64, errs walker.FieldErrors, form any) {
	title := "Edit " + entity
	if id == 0 {
		title = "New " + entity
	}
	s.render(c, status, entity+"_form.html", title, errs, form)
}

// save creates r (id 0) or updates it: create and update take the same
// record.
func save[T any](c *gin.Context, r *T, id int64, create, update func(context.Context, *T) error) error {
	if id == 0 {
		return create(c, r)
	}
	return update(c, r)
}

// saved answers a form's POST after save: the form again with its field
// errors, or the entity's list with a flash message.
func (s *server) saved(c *gin.Context, err error, entity, name string, id int64, form any) error {
	var errs walker.FieldErrors
	switch {
	case errors.As(err, &errs):
		s.renderForm(c, http.StatusBadRequest, entity, id, errs, form)
		return nil
	case err != nil:
		return err
	}
	verb := "saved"
	if id == 0 {
		verb = "added"
	}
	s.flash(c, fmt.Sprintf("%s%s %s %s.", strings.ToUpper(entity[:1]), entity[1:], name, verb))
	c.Redirect(http.StatusFound, "/"+entity+"s/")
	return nil
}

// savedStatus is the API's status for a record saved: 201 if created.
func savedStatus(id int64) int {
	if id == 0 {
		return http.StatusCreated
	}
	return http.StatusOK
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

// remove deletes the record of the URL's id: the API answers 204, a page
// flashes msg and goes back to the entity's list.
func (s *server) remove(c *gin.Context, entity string, del func(context.Context, int64) error, msg string) error {
	id, err := pathID(c, entity)
	if err != nil {
		return err
	}
	if err := del(c, id); err != nil {
		return err
	}
	if c.GetBool(jsonRoute) {
		c.Status(http.StatusNoContent)
		return nil
	}
	s.flash(c, msg)
	c.Redirect(http.StatusFound, "/"+entity+"s/")
	return nil
}
