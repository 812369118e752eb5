package web

import (
	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// Walkers: the pages and the JSON API (entity).

func newWalkers(s *server) *entity[walker.Walker, walkerJSON] {
	return &entity[walker.Walker, walkerJSON]{
		server: s, kind: "walker", their: "their",
		list: s.Store.ListWalkers, get: s.Store.GetWalker,
		create: s.Store.CreateWalker, update: s.Store.UpdateWalker, delete: s.Store.DeleteWalker,
		nameOf:   func(w walker.Walker) string { return w.Name },
		toJSON:   toWalkerJSON,
		fromJSON: walkerFromJSON,
		fromForm: func(c *gin.Context, id int64) (walker.Walker, map[string]string, error) {
			return walker.Walker{ID: id, Name: c.PostForm("name"), Email: c.PostForm("email")}, nil, nil
		},
	}
}

type walkerJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func toWalkerJSON(w walker.Walker) walkerJSON {
	return walkerJSON{ID: w.ID, Name: w.Name, Email: w.Email}
}

func walkerFromJSON(c *gin.Context, id int64) (walker.Walker, error) {
	var in struct {
		Name  text `json:"name"`
		Email text `json:"email"`
	}
	err := decode(c, &in)
	return walker.Walker{ID: id, Name: string(in.Name), Email: string(in.Email)}, err
}
