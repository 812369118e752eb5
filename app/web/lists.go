package web

import (
	"context"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// choiceLimit is how many matches the start form offers in each select: a
// search narrows them, and a link shows the next ones.
const choiceLimit = 20

// listQuery reads a list's search ("q") and cursor ("after") from the URL,
// under a prefix on the start form ("dog_q", "walker_after"...). A malformed
// cursor is FieldErrors; the rest is checked once, by the store.
func listQuery(c *gin.Context, prefix string, limit int) (walker.ListQuery, error) {
	q := walker.ListQuery{Search: c.Query(prefix + "q"), Limit: limit}
	var err error
	if q.After, err = walker.ParseCursor(c.Query(prefix + "after")); err != nil {
		return q, err
	}
	q.Normalize() // the page's links need the trimmed search and the limit
	return q, nil
}

// apiListQuery is listQuery with the page size the client asks ("limit").
func apiListQuery(c *gin.Context) (walker.ListQuery, error) {
	limit := 0
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 { // 0 would read as the default; above the maximum, the store says so
			return walker.ListQuery{}, walker.FieldErrors{"limit": "Enter a whole number from 1 to 500."}
		}
		limit = n
	}
	return listQuery(c, "", limit)
}

// listPage is what a list page shows: its rows and the links to the next
// and first pages (empty when there is none, or it is this one).
type listPage[T any] struct {
	Items []T
	Query string
	Next  string
	First string
}

// readList reads the page of a list that a list page's URL asks for.
func readList[T any](c *gin.Context, list func(context.Context, walker.ListQuery) (walker.Page[T], error)) (listPage[T], error) {
	q, err := listQuery(c, "", 0)
	if err != nil {
		return listPage[T]{}, err
	}
	p, err := list(c, q)
	if err != nil {
		return listPage[T]{}, err
	}
	lp := listPage[T]{Items: p.Items, Query: q.Search}
	if !p.Next.IsZero() {
		lp.Next = pageURL(c.FullPath(), url.Values{"q": {q.Search}}, "after", p.Next)
	}
	if !q.After.IsZero() {
		lp.First = pageURL(c.FullPath(), url.Values{"q": {q.Search}}, "after", walker.Cursor{})
	}
	return lp, nil
}

// apiList answers a page of a list in JSON. It announces the next page in a
// Link header, the way RFC 8288 does, so the body stays the plain array it
// always was.
func apiList[T, J any](c *gin.Context, list func(context.Context, walker.ListQuery) (walker.Page[T], error), toJSON func(T) J) error {
	q, err := apiListQuery(c)
	if err != nil {
		return err
	}
	p, err := list(c, q)
	if err != nil {
		return err
	}
	out := make([]J, len(p.Items))
	for i, it := range p.Items {
		out[i] = toJSON(it)
	}
	if !p.Next.IsZero() {
		v := url.Values{"q": {q.Search}, "limit": {strconv.Itoa(q.Limit)}}
		c.Header("Link", "<"+pageURL(c.FullPath(), v, "after", p.Next)+`>; rel="next"`)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// pageURL is path with the non-empty values and the cursor under key.
func pageURL(path string, v url.Values, key string, after walker.Cursor) string {
	v.Set(key, after.String())
	for k, vs := range v {
		if len(vs) == 0 || vs[0] == "" {
			delete(v, k)
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// choices is one select of the start form: the matches of its search and
// the link to the next matches (empty when there are no more).
type choices[T any] struct {
	Items []T
	// Options are Items as <option>s (optionsHTML).
	Options template.HTML
	Query   string
	More    string
	// None is true when there is nothing at all to choose (no search, first
	// page): the form says to create one first.
	None bool
}

func newChoices[T any](q walker.ListQuery, p walker.Page[T], more func(walker.Cursor) string) choices[T] {
	ch := choices[T]{Items: p.Items, Query: q.Search, None: len(p.Items) == 0 && q.Search == "" && q.After.IsZero()}
	if !p.Next.IsZero() {
		ch.More = more(p.Next)
	}
	return ch
}

// choose renders the options with the record of id (if any) chosen; when
// the page of matches lacks it, it goes first, so that a form shown again
// after an error keeps the choice.
func (ch *choices[T]) choose(ctx context.Context, id int64, option func(T) (int64, string), get func(context.Context, int64) (T, error)) {
	isChosen := func(it T) bool {
		itemID, _ := option(it)
		return itemID == id
	}
	if id > 0 && !slices.ContainsFunc(ch.Items, isChosen) {
		if it, err := get(ctx, id); err == nil {
			ch.Items = append([]T{it}, ch.Items...)
		}
	}
	ch.Options = optionsHTML(ch.Items, id, option)
}

// optionsHTML renders a select's options in Go, escaped as html/template
// would: the template engine spends several µs per option (reflection for
// every field, an escaper call for every value), which made the start form
// at 20 + 20 matches the costliest page of the walk lifecycle.
func optionsHTML[T any](items []T, chosen int64, option func(T) (int64, string)) template.HTML {
	var b strings.Builder
	for _, it := range items {
		id, label := option(it)
		b.WriteString(`<option value="`)
		b.WriteString(strconv.FormatInt(id, 10))
		if id == chosen {
			b.WriteString(`" selected>`)
		} else {
			b.WriteString(`">`)
		}
		b.WriteString(html.EscapeString(label))
		b.WriteString("</option>\n")
	}
	return template.HTML(b.String())
}

func dogOption(d walker.Dog) (int64, string) { return d.ID, d.Name + " (" + d.Size.Label() + ")" }

func walkerOption(w walker.Walker) (int64, string) { return w.ID, w.Name + " (" + w.Email + ")" }
