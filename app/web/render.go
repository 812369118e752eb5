package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"
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
