package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

var funcs = template.FuncMap{
	"when": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"sizes": func() []walker.Size { return walker.Sizes },
}

// parsePages parses each page together with the layout.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html"))
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" {
			continue
		}
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, n))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title  string
	Flash  string
	CSRF   string
	Errors walker.FieldErrors
	Data   any
}

// render writes a page; rendering into a buffer first means a template error
// becomes a clean 500, not half a page.
func (s *server) render(c *gin.Context, status int, name, title string, errs walker.FieldErrors, data any) {
	t, ok := s.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	p := page{Title: title, Flash: s.takeFlash(c), CSRF: c.GetString(csrfCookie), Errors: errs, Data: data}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer renderBuffers.Put(buf)
	buf.Reset()
	if err := t.ExecuteTemplate(buf, "layout.html", p); err != nil {
		panic(fmt.Errorf("render %s: %w", name, err))
	}
	if s.HTTP != nil {
		s.HTTP.Rendered(name)
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderBuffers keep the pages' buffers from one request to the next: a page
// grows a fresh buffer several times otherwise.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errorPage answers a browser with the message in a page (and the message
// as the body's text, for scripts and tests that grep it).
func (s *server) errorPage(c *gin.Context, status int, msg string) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/") || strings.HasSuffix(c.Request.URL.Path, "/status/") {
		c.AbortWithStatusJSON(status, apiError{Error: msg})
		return
	}
	s.render(c, status, "error.html", http.StatusText(status), nil, msg)
	c.Abort()
}

// fail is errorPage for the middleware, where no route may have matched.
func (s *server) fail(c *gin.Context, status int, msg string) { s.errorPage(c, status, msg) }

// pathID reads the id in the URL, a plain positive decimal number
// (walker.ParseID); anything else is a 404 (the URL names nothing), so
// /walkers/+2/delete/ does not delete walker 2.
func pathID(c *gin.Context) (int64, bool) {
	return walker.ParseID(c.Param("id"))
}

func (s *server) notFoundID(c *gin.Context, entity string) {
	s.errorPage(c, http.StatusNotFound, fmt.Sprintf("no %s with ID %s found", entity, c.Param("id")))
}

// storeError answers the errors the store returns.
func (s *server) storeError(c *gin.Context, err error) {
	var nf *walker.NotFoundError
	var done *walker.AlreadyCompleteError
	var fe walker.FieldErrors
	switch {
	case errors.As(err, &nf):
		s.errorPage(c, http.StatusNotFound, nf.Error())
	case errors.As(err, &done):
		s.errorPage(c, http.StatusBadRequest, done.Error())
	case errors.As(err, &fe):
		s.errorPage(c, http.StatusBadRequest, fe.Error())
	case clientGone(c):
		c.AbortWithStatus(StatusClientClosedRequest)
	default:
		s.Logger.Error("store", "error", err.Error(), "request_id", c.GetString(requestIDKey), "route", c.FullPath())
		s.errorPage(c, http.StatusServiceUnavailable, "the database is unavailable, please retry")
	}
}

// StatusClientClosedRequest is nginx's status for a request whose client
// went away before the answer: what the access log and http_requests_total
// record then. It is no server error (not 5xx) and nobody reads the body.
const StatusClientClosedRequest = 499

// clientGone reports whether the client cancelled the request (closed the
// connection), which makes the statements it was waiting for fail.
func clientGone(c *gin.Context) bool {
	return errors.Is(c.Request.Context().Err(), context.Canceled)
}

type startData struct {
	Dogs     choices[walker.Dog]
	Walkers  choices[walker.Walker]
	DogID    int64 // the choices made, kept when the form comes back
	WalkerID int64
	Walk     *walker.Walk
}

// startForm offers the first matches of each search (?dog_q=, ?walker_q=;
// none: the first names) with links to the next ones; ?walk=<id> shows a
// walk above the form.
func (s *server) startForm(c *gin.Context) {
	d := startData{}
	if w := c.Query("walk"); w != "" {
		id, ok := walker.ParseID(w)
		if !ok {
			s.errorPage(c, http.StatusNotFound, fmt.Sprintf("no walk with ID %s found", w))
			return
		}
		walk, err := s.Store.GetWalk(c, id)
		if err != nil {
			s.storeError(c, err)
			return
		}
		d.Walk = &walk
	}
	dogs, err := listQuery(c, "dog_", choiceLimit)
	if err != nil {
		s.storeError(c, err)
		return
	}
	walkers, err := listQuery(c, "walker_", choiceLimit)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if !s.loadChoices(c, &d, dogs, walkers) {
		return
	}
	s.render(c, http.StatusOK, "start.html", "Start a walk", nil, d)
}

// loadChoices reads one page of matches for each select.
func (s *server) loadChoices(c *gin.Context, d *startData, dq, wq walker.ListQuery) bool {
	dogs, walkers, err := s.Store.StartChoices(c, dq, wq)
	if err != nil {
		s.storeError(c, err)
		return false
	}
	// A "next matches" link moves one select on and keeps the other.
	v := func() url.Values {
		return url.Values{"dog_q": {dq.Search}, "dog_after": {dq.After.String()}, "walker_q": {wq.Search}, "walker_after": {wq.After.String()}}
	}
	d.Dogs = newChoices(dq, dogs, func(next walker.Cursor) string { return pageURL("/walks/start/", v(), "dog_after", next) })
	d.Walkers = newChoices(wq, walkers, func(next walker.Cursor) string { return pageURL("/walks/start/", v(), "walker_after", next) })
	d.Dogs.Items = withSelected(d.Dogs.Items, d.DogID, func(x walker.Dog) int64 { return x.ID },
		func() (walker.Dog, error) { return s.Store.GetDog(c, d.DogID) })
	d.Walkers.Items = withSelected(d.Walkers.Items, d.WalkerID, func(x walker.Walker) int64 { return x.ID },
		func() (walker.Walker, error) { return s.Store.GetWalker(c, d.WalkerID) })
	d.Dogs.Options = optionsHTML(d.Dogs.Items, d.DogID, dogOption)
	d.Walkers.Options = optionsHTML(d.Walkers.Items, d.WalkerID, walkerOption)
	return true
}

func (s *server) startWalk(c *gin.Context) {
	errs := walker.FieldErrors{}
	dogID := formID(errs, "dog", c.PostForm("dog"))
	walkerID := formID(errs, "walker", c.PostForm("walker"))
	d := startData{DogID: dogID, WalkerID: walkerID}
	var walk walker.Walk
	if len(errs) == 0 {
		var err error
		walk, err = s.Store.StartWalk(c, dogID, walkerID, s.Now())
		var nf *walker.NotFoundError
		switch {
		case errors.As(err, &nf):
			errs[nf.Entity] = "Select a valid choice. That choice is not one of the available choices."
		case err != nil:
			s.storeError(c, err)
			return
		}
	}
	if len(errs) > 0 {
		s.Walks.Invalid()
		first := walker.ListQuery{Limit: choiceLimit}
		if !s.loadChoices(c, &d, first, first) {
			return
		}
		s.render(c, http.StatusBadRequest, "start.html", "Start a walk", errs, d)
		return
	}
	s.Walks.Started(c.Request.Context())
	s.flash(c, fmt.Sprintf("Walk %d started.", walk.ID))
	c.Redirect(http.StatusFound, "/walks/start/?walk="+strconv.FormatInt(walk.ID, 10))
}

// formID reads a required id from a form field (a select's value).
func formID(errs walker.FieldErrors, field, v string) int64 {
	if strings.TrimSpace(v) == "" {
		errs[field] = "This field is required."
		return 0
	}
	id, ok := walker.ParseID(v)
	if !ok {
		errs[field] = "Select a valid choice. That choice is not one of the available choices."
		return 0
	}
	return id
}

type completeData struct {
	Walk     walker.Walk
	Distance string
}

func (s *server) completeForm(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "walk")
		return
	}
	walk, err := s.Store.GetWalk(c, id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if walk.Complete() {
		s.errorPage(c, http.StatusBadRequest, (&walker.AlreadyCompleteError{ID: id}).Error())
		return
	}
	s.render(c, http.StatusOK, "complete.html", fmt.Sprintf("Complete walk %d", id), nil, completeData{Walk: walk})
}

// completeWalk is one conditional update on the happy path; the walk is
// read only to redisplay the form after invalid input.
func (s *server) completeWalk(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "walk")
		return
	}
	raw := c.PostForm("distance")
	distance, errs := parseDistance(raw)
	if errs == nil {
		walk, err := s.Store.CompleteWalk(c, id, distance, s.Now())
		if err != nil {
			s.storeError(c, err)
			return
		}
		s.Walks.Completed(c.Request.Context(), walk.Distance)
		s.flash(c, fmt.Sprintf("Walk %d completed: %d m.", id, walk.Distance))
		c.Redirect(http.StatusFound, "/walks/start/?walk="+strconv.FormatInt(id, 10))
		return
	}
	walk, err := s.Store.GetWalk(c, id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if walk.Complete() {
		s.errorPage(c, http.StatusBadRequest, (&walker.AlreadyCompleteError{ID: id}).Error())
		return
	}
	s.render(c, http.StatusBadRequest, "complete.html", fmt.Sprintf("Complete walk %d", id), errs, completeData{Walk: walk, Distance: raw})
}

func parseDistance(raw string) (int, walker.FieldErrors) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, walker.FieldErrors{"distance": "This field is required."}
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, walker.FieldErrors{"distance": "Enter a whole number."}
	}
	if err := walker.ValidateDistance(n); err != nil {
		return 0, err.(walker.FieldErrors)
	}
	return n, nil
}

func (s *server) walkStatus(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		c.JSON(http.StatusNotFound, apiError{Error: fmt.Sprintf("no walk with ID %s found", c.Param("id"))})
		return
	}
	complete, err := s.Store.WalkComplete(c, id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"complete": complete})
}

func (s *server) walksInProgress(c *gin.Context) {
	q, err := listQuery(c, "", 0)
	var p walker.Page[walker.Walk]
	if err == nil {
		p, err = s.Store.ListWalksInProgress(c, q)
	}
	if err != nil {
		s.storeError(c, err)
		return
	}
	s.render(c, http.StatusOK, "walks.html", "Walks in progress", nil, newListPage("/walks/", q, p))
}

// Walkers

type walkerForm struct {
	Walker walker.Walker
	Action string
}

func (s *server) listWalkers(c *gin.Context) {
	q, err := listQuery(c, "", 0)
	var p walker.Page[walker.Walker]
	if err == nil {
		p, err = s.Store.ListWalkers(c, q)
	}
	if err != nil {
		s.storeError(c, err)
		return
	}
	s.render(c, http.StatusOK, "walkers.html", "Walkers", nil, newListPage("/walkers/", q, p))
}

func (s *server) newWalkerForm(c *gin.Context) {
	s.render(c, http.StatusOK, "walker_form.html", "New walker", nil, walkerForm{Action: "/walkers/new/"})
}

func (s *server) createWalker(c *gin.Context) {
	w := walker.Walker{Name: c.PostForm("name"), Email: c.PostForm("email")}
	if err := s.Store.CreateWalker(c, &w); err != nil {
		s.walkerFormError(c, err, walkerForm{Walker: w, Action: "/walkers/new/"}, "New walker")
		return
	}
	s.flash(c, fmt.Sprintf("Walker %s added.", w.Name))
	c.Redirect(http.StatusFound, "/walkers/")
}

func (s *server) editWalkerForm(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "walker")
		return
	}
	w, err := s.Store.GetWalker(c, id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	s.render(c, http.StatusOK, "walker_form.html", "Edit walker", nil, walkerForm{Walker: w, Action: c.Request.URL.Path})
}

func (s *server) updateWalker(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "walker")
		return
	}
	w := walker.Walker{ID: id, Name: c.PostForm("name"), Email: c.PostForm("email")}
	if err := s.Store.UpdateWalker(c, &w); err != nil {
		s.walkerFormError(c, err, walkerForm{Walker: w, Action: c.Request.URL.Path}, "Edit walker")
		return
	}
	s.flash(c, fmt.Sprintf("Walker %s saved.", w.Name))
	c.Redirect(http.StatusFound, "/walkers/")
}

func (s *server) walkerFormError(c *gin.Context, err error, f walkerForm, title string) {
	var fe walker.FieldErrors
	if errors.As(err, &fe) {
		s.render(c, http.StatusBadRequest, "walker_form.html", title, fe, f)
		return
	}
	s.storeError(c, err)
}

func (s *server) deleteWalker(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "walker")
		return
	}
	if err := s.Store.DeleteWalker(c, id); err != nil {
		s.storeError(c, err)
		return
	}
	s.flash(c, "Walker deleted, with their walks.")
	c.Redirect(http.StatusFound, "/walkers/")
}

// Dogs

type dogForm struct {
	Dog    walker.Dog
	Age    string
	Action string
}

func (s *server) listDogs(c *gin.Context) {
	q, err := listQuery(c, "", 0)
	var p walker.Page[walker.Dog]
	if err == nil {
		p, err = s.Store.ListDogs(c, q)
	}
	if err != nil {
		s.storeError(c, err)
		return
	}
	s.render(c, http.StatusOK, "dogs.html", "Dogs", nil, newListPage("/dogs/", q, p))
}

func (s *server) newDogForm(c *gin.Context) {
	s.render(c, http.StatusOK, "dog_form.html", "New dog", nil, dogForm{Dog: walker.Dog{Size: walker.DefaultSize}, Action: "/dogs/new/"})
}

// dogFromForm reads the form; a non-numeric age is a field error.
func dogFromForm(c *gin.Context, id int64) (walker.Dog, string, walker.FieldErrors) {
	age := strings.TrimSpace(c.PostForm("age"))
	d := walker.Dog{ID: id, Name: c.PostForm("name"), Size: walker.Size(c.PostForm("size"))}
	if age == "" {
		return d, age, walker.FieldErrors{"age": "This field is required."}
	}
	n, err := strconv.Atoi(age)
	if err != nil {
		return d, age, walker.FieldErrors{"age": "Enter a whole number."}
	}
	d.Age = n
	return d, age, nil
}

func (s *server) createDog(c *gin.Context) {
	d, age, errs := dogFromForm(c, 0)
	f := dogForm{Dog: d, Age: age, Action: "/dogs/new/"}
	if errs != nil {
		s.render(c, http.StatusBadRequest, "dog_form.html", "New dog", errs, f)
		return
	}
	if err := s.Store.CreateDog(c, &d); err != nil {
		s.dogFormError(c, err, f, "New dog")
		return
	}
	s.flash(c, fmt.Sprintf("Dog %s added.", d.Name))
	c.Redirect(http.StatusFound, "/dogs/")
}

func (s *server) editDogForm(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "dog")
		return
	}
	d, err := s.Store.GetDog(c, id)
	if err != nil {
		s.storeError(c, err)
		return
	}
	s.render(c, http.StatusOK, "dog_form.html", "Edit dog", nil, dogForm{Dog: d, Age: strconv.Itoa(d.Age), Action: c.Request.URL.Path})
}

func (s *server) updateDog(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "dog")
		return
	}
	d, age, errs := dogFromForm(c, id)
	f := dogForm{Dog: d, Age: age, Action: c.Request.URL.Path}
	if errs != nil {
		s.render(c, http.StatusBadRequest, "dog_form.html", "Edit dog", errs, f)
		return
	}
	if err := s.Store.UpdateDog(c, &d); err != nil {
		s.dogFormError(c, err, f, "Edit dog")
		return
	}
	s.flash(c, fmt.Sprintf("Dog %s saved.", d.Name))
	c.Redirect(http.StatusFound, "/dogs/")
}

func (s *server) dogFormError(c *gin.Context, err error, f dogForm, title string) {
	var fe walker.FieldErrors
	if errors.As(err, &fe) {
		s.render(c, http.StatusBadRequest, "dog_form.html", title, fe, f)
		return
	}
	s.storeError(c, err)
}

func (s *server) deleteDog(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		s.notFoundID(c, "dog")
		return
	}
	if err := s.Store.DeleteDog(c, id); err != nil {
		s.storeError(c, err)
		return
	}
	s.flash(c, "Dog deleted, with its walks.")
	c.Redirect(http.StatusFound, "/dogs/")
}
