package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// Walkers: the pages and the JSON API.

type walkerForm struct {
	Walker walker.Walker
	Action string
}

type walkerJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func toWalkerJSON(w walker.Walker) walkerJSON {
	return walkerJSON{ID: w.ID, Name: w.Name, Email: w.Email}
}

func (s *server) listWalkers(c *gin.Context) error {
	return renderList(s, c, s.Store.ListWalkers, "walkers.html", "Walkers")
}

func (s *server) walkerForm(c *gin.Context) error {
	id, err := editID(c, "walker")
	w := walker.Walker{ID: id}
	if err == nil && id != 0 {
		w, err = s.Store.GetWalker(c, id)
	}
	if err != nil {
		return err
	}
	s.renderForm(c, http.StatusOK, "walker", id, nil, walkerForm{Walker: w, Action: c.Request.URL.Path})
	return nil
}

// saveWalker is the new and the edit form's POST.
func (s *server) saveWalker(c *gin.Context) error {
	id, err := editID(c, "walker")
	if err != nil {
		return err
	}
	w := walker.Walker{ID: id, Name: c.PostForm("name"), Email: c.PostForm("email")}
	err = save(c, &w, id, s.Store.CreateWalker, s.Store.UpdateWalker)
	return s.saved(c, err, "walker", w.Name, id, walkerForm{Walker: w, Action: c.Request.URL.Path})
}

// deleteWalker is the page's POST and the API's DELETE.
func (s *server) deleteWalker(c *gin.Context) error {
	return s.remove(c, "walker", s.Store.DeleteWalker, "Walker deleted, with their walks.")
}

func (s *server) apiListWalkers(c *gin.Context) error {
	return apiList(c, s.Store.ListWalkers, toWalkerJSON)
}

func (s *server) apiGetWalker(c *gin.Context) error {
	return apiGet(c, "walker", s.Store.GetWalker, toWalkerJSON)
}

// apiSaveWalker is POST /api/walkers and PUT /api/walkers/:id.
func (s *server) apiSaveWalker(c *gin.Context) error {
	id, err := editID(c, "walker")
	var in struct {
		Name  text `json:"name"`
		Email text `json:"email"`
	}
	if err == nil {
		err = decode(c, &in)
	}
	w := walker.Walker{ID: id, Name: string(in.Name), Email: string(in.Email)}
	if err == nil {
		err = save(c, &w, id, s.Store.CreateWalker, s.Store.UpdateWalker)
	}
	if err != nil {
		return err
	}
	c.JSON(savedStatus(id), toWalkerJSON(w))
	return nil
}
