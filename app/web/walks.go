package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// Walks: the start and complete forms, the walks in progress, the status,
// and the JSON API.

type walkJSON struct {
	ID        int64      `json:"id"`
	Dog       int64      `json:"dog"`
	Walker    int64      `json:"walker"`
	Distance  int        `json:"distance"`
	StartTime *time.Time `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	Complete  bool       `json:"complete"`
}

func toWalkJSON(w walker.Walk) walkJSON {
	return walkJSON{ID: w.ID, Dog: w.DogID, Walker: w.WalkerID, Distance: w.Distance,
		StartTime: w.StartTime, EndTime: w.EndTime, Complete: w.Complete()}
}

// choiceError is Django's message for a choice that names nothing.
const choiceError = "Select a valid choice. That choice is not one of the available choices."

// start is the rule of starting a walk, the form's and the API's: the ids
// must be plain numbers (walker.ParseID) of a dog and a walker that exist,
// or the answer is FieldErrors, counted in invalid_walks_total; a walk
// started is counted in walks_started_total.
func (s *server) start(c *gin.Context, dog, who string) (walker.Walk, error) {
	errs := walker.FieldErrors{}
	dogID, walkerID := choiceID(errs, "dog", dog), choiceID(errs, "walker", who)
	var walk walker.Walk
	var err error
	if len(errs) == 0 {
		walk, err = s.Store.StartWalk(c, dogID, walkerID, s.Now())
		var nf *walker.NotFoundError
		if errors.As(err, &nf) {
			errs[nf.Entity] = choiceError
		}
	}
	if len(errs) > 0 {
		s.Walks.Invalid()
		return walker.Walk{DogID: dogID, WalkerID: walkerID}, errs // the choices, for the form
	}
	if err == nil {
		s.Walks.Started(c.Request.Context())
	}
	return walk, err
}

// choiceID reads a required id (a select's value).
func choiceID(errs walker.FieldErrors, field, v string) int64 {
	id, ok := walker.ParseID(v)
	if !ok {
		errs[field] = choiceError
		if strings.TrimSpace(v) == "" {
			errs[field] = "This field is required."
		}
	}
	return id
}

// wholeNumber reads the (trimmed) value of a required whole-number field.
func wholeNumber(field, v string) (int, error) {
	n, err := strconv.Atoi(v)
	switch {
	case v == "":
		err = walker.FieldErrors{field: "This field is required."}
	case err != nil:
		err = walker.FieldErrors{field: "Enter a whole number."}
	}
	return n, err
}

// complete is the rule of completing a walk, the form's and the API's:
// the distance a whole number (the store checks its range), or the answer
// is FieldErrors; a walk completed is counted.
func (s *server) complete(c *gin.Context, id int64, distance string) (walker.Walk, error) {
	n, err := wholeNumber("distance", strings.TrimSpace(distance))
	if err != nil {
		return walker.Walk{}, err
	}
	walk, err := s.Store.CompleteWalk(c, id, n, s.Now())
	if err == nil {
		s.Walks.Completed(c.Request.Context(), walk.Distance)
	}
	return walk, err
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
func (s *server) startForm(c *gin.Context) error {
	d := startData{}
	if w := c.Query("walk"); w != "" {
		id, ok := walker.ParseID(w)
		if !ok {
			return errorf(http.StatusNotFound, "no walk with ID %s found", w)
		}
		walk, err := s.Store.GetWalk(c, id)
		if err != nil {
			return err
		}
		d.Walk = &walk
	}
	dogs, err := listQuery(c, "dog_", choiceLimit)
	if err != nil {
		return err
	}
	walkers, err := listQuery(c, "walker_", choiceLimit)
	if err != nil {
		return err
	}
	return s.renderStart(c, http.StatusOK, nil, d, dogs, walkers)
}

// renderStart renders the start form with one page of matches for each
// select.
func (s *server) renderStart(c *gin.Context, status int, errs walker.FieldErrors, d startData, dq, wq walker.ListQuery) error {
	dogs, walkers, err := s.Store.StartChoices(c, dq, wq)
	if err != nil {
		return err
	}
	// A "next matches" link moves one select on and keeps the other.
	v := func() url.Values {
		return url.Values{"dog_q": {dq.Search}, "dog_after": {dq.After.String()}, "walker_q": {wq.Search}, "walker_after": {wq.After.String()}}
	}
	d.Dogs = newChoices(dq, dogs, func(next walker.Cursor) string { return pageURL("/walks/start/", v(), "dog_after", next) })
	d.Walkers = newChoices(wq, walkers, func(next walker.Cursor) string { return pageURL("/walks/start/", v(), "walker_after", next) })
	d.Dogs.choose(c, d.DogID, dogOption, s.Store.GetDog)
	d.Walkers.choose(c, d.WalkerID, walkerOption, s.Store.GetWalker)
	s.render(c, status, "start.html", "Start a walk", errs, d)
	return nil
}

func (s *server) startWalk(c *gin.Context) error {
	walk, err := s.start(c, c.PostForm("dog"), c.PostForm("walker"))
	var errs walker.FieldErrors
	if errors.As(err, &errs) {
		d := startData{DogID: walk.DogID, WalkerID: walk.WalkerID}
		first := walker.ListQuery{Limit: choiceLimit}
		return s.renderStart(c, http.StatusBadRequest, errs, d, first, first)
	}
	if err != nil {
		return err
	}
	s.flash(c, fmt.Sprintf("Walk %d started.", walk.ID))
	c.Redirect(http.StatusFound, "/walks/start/?walk="+strconv.FormatInt(walk.ID, 10))
	return nil
}

type completeData struct {
	Walk     walker.Walk
	Distance string
}

// walkInProgress reads the walk of the URL, which must not be complete.
func (s *server) walkInProgress(c *gin.Context) (walker.Walk, error) {
	id, err := pathID(c, "walk")
	if err != nil {
		return walker.Walk{}, err
	}
	walk, err := s.Store.GetWalk(c, id)
	if err == nil && walk.Complete() {
		err = &walker.AlreadyCompleteError{ID: id}
	}
	return walk, err
}

func (s *server) completeForm(c *gin.Context) error {
	walk, err := s.walkInProgress(c)
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "complete.html", fmt.Sprintf("Complete walk %d", walk.ID), nil, completeData{Walk: walk})
	return nil
}

// completeWalk is one conditional update on the happy path; the walk is
// read only to show the form again after invalid input.
func (s *server) completeWalk(c *gin.Context) error {
	id, err := pathID(c, "walk")
	if err != nil {
		return err
	}
	raw := c.PostForm("distance")
	walk, err := s.complete(c, id, raw)
	var errs walker.FieldErrors
	if errors.As(err, &errs) {
		if walk, err = s.walkInProgress(c); err == nil {
			s.render(c, http.StatusBadRequest, "complete.html", fmt.Sprintf("Complete walk %d", id), errs, completeData{Walk: walk, Distance: raw})
		}
		return err
	}
	if err != nil {
		return err
	}
	s.flash(c, fmt.Sprintf("Walk %d completed: %d m.", id, walk.Distance))
	c.Redirect(http.StatusFound, "/walks/start/?walk="+strconv.FormatInt(id, 10))
	return nil
}

func (s *server) walkStatus(c *gin.Context) error {
	id, err := pathID(c, "walk")
	if err != nil {
		return err
	}
	complete, err := s.Store.WalkComplete(c, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"complete": complete})
	return nil
}

func (s *server) walksInProgress(c *gin.Context) error {
	lp, err := readList(c, s.Store.ListWalksInProgress)
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "walks.html", "Walks in progress", nil, lp)
	return nil
}

// apiListWalks lists the walks in progress, oldest first, as the /walks/
// page does.
func (s *server) apiListWalks(c *gin.Context) error {
	return apiList(c, s.Store.ListWalksInProgress, toWalkJSON)
}

func (s *server) apiGetWalk(c *gin.Context) error {
	return apiGet(c, "walk", s.Store.GetWalk, toWalkJSON)
}

// apiStartWalk takes the ids as JSON numbers, read as the form reads them.
func (s *server) apiStartWalk(c *gin.Context) error {
	var in struct {
		Dog    json.Number `json:"dog"`
		Walker json.Number `json:"walker"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	walk, err := s.start(c, string(in.Dog), string(in.Walker))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toWalkJSON(walk))
	return nil
}

// apiCompleteWalk takes the distance as a JSON number, read as the form
// reads it.
func (s *server) apiCompleteWalk(c *gin.Context) error {
	id, err := pathID(c, "walk")
	var in struct {
		Distance json.Number `json:"distance"`
	}
	if err == nil {
		err = decode(c, &in)
	}
	var walk walker.Walk
	if err == nil {
		walk, err = s.complete(c, id, string(in.Distance))
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toWalkJSON(walk))
	return nil
}
