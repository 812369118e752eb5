package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/internal/testtool"
)

func numbered(prefix string, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s %04d", prefix, i))
	}
	return out
}

var nextLink = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// apiPages follows the API's Link headers from path and returns the names
// of each page; a walk, which has none, is "#id" as on its page.
func apiPages(t *testing.T, b *browser, path string) [][]string {
	t.Helper()
	var pages [][]string
	for range 50 {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		var items []struct {
			ID   int64
			Name string
		}
		if err := json.Unmarshal([]byte(r.body), &items); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, r.body)
		}
		var page []string
		for _, it := range items {
			if it.Name == "" {
				it.Name = fmt.Sprintf("#%d", it.ID)
			}
			page = append(page, it.Name)
		}
		pages = append(pages, page)
		link := r.header.Get("Link")
		if link == "" {
			return pages
		}
		m := nextLink.FindStringSubmatch(link)
		if m == nil {
			t.Fatalf("GET %s: Link %q", path, link)
		}
		path = m[1]
	}
	t.Fatal("more than 50 pages")
	return nil
}

var rowNames = regexp.MustCompile(`<tr><td>([^<]+)</td>`)
var pageLink = regexp.MustCompile(`<a href="([^"]+)" id="(next|first)-page"`)

// htmlPages follows a list page's "Next page" links.
func htmlPages(t *testing.T, b *browser, path string) (pages [][]string, firstLinks int) {
	t.Helper()
	for range 50 {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, r.status)
		}
		var page []string
		for _, m := range rowNames.FindAllStringSubmatch(r.body, -1) {
			page = append(page, html.UnescapeString(m[1]))
		}
		pages = append(pages, page)
		next := ""
		for _, m := range pageLink.FindAllStringSubmatch(r.body, -1) {
			switch m[2] {
			case "next":
				next = html.UnescapeString(m[1])
			case "first":
				firstLinks++
			}
		}
		if next == "" {
			return pages, firstLinks
		}
		path = next
	}
	t.Fatal("more than 50 pages")
	return nil, 0
}

func flatten(pages [][]string) []string { return slices.Concat(pages...) }

func TestListsPageInTheAPIAndThePages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		ws := numbered("Walker", 2*walker.DefaultPageSize+3)
		testdb.CreateWalkers(t, a.store, ws...)
		b := a.browser()

		// The API: first, middle and last page, nothing twice, nothing lost.
		pages := apiPages(t, b, "/api/walkers?limit=40")
		if len(pages) != 3 || len(pages[0]) != 40 || len(pages[1]) != 40 || len(pages[2]) != len(ws)-80 {
			t.Errorf("API pages of %v rows, want 40, 40, %d", lens(pages), len(ws)-80)
		}
		if got := flatten(pages); !slices.Equal(got, ws) {
			t.Errorf("API pages = %v..., want every walker once in name order", got[:5])
		}
		// The default page size, and a search.
		if pages := apiPages(t, b, "/api/walkers"); len(pages[0]) != walker.DefaultPageSize {
			t.Errorf("default API page of %d rows, want %d", len(pages[0]), walker.DefaultPageSize)
		}
		if got := flatten(apiPages(t, b, "/api/walkers?limit=4&q="+url.QueryEscape("walker 010"))); !slices.Equal(got, numbered("Walker", 103)[99:103]) {
			t.Errorf("search walker 010 = %v", got)
		}

		// The page, in pages of DefaultPageSize with next and first links.
		pages, firsts := htmlPages(t, b, "/walkers/")
		if len(pages) != 3 || firsts != 2 || !slices.Equal(flatten(pages), ws) {
			t.Errorf("walkers pages of %v rows with %d first-page links, want 50, 50, 3 rows, 2 links, every walker once", lens(pages), firsts)
		}
		if pages, _ := htmlPages(t, b, "/walkers/?q=WALKER+00"); !slices.Equal(flatten(pages), ws[:99]) || len(pages) != 2 {
			t.Errorf("walkers matching WALKER 00: %v pages, %d rows", len(pages), len(flatten(pages)))
		}
		if r := b.get("/walkers/?q=nobody"); !strings.Contains(r.body, "No walker's name starts with “nobody”.") {
			t.Errorf("an empty search says nothing:\n%s", r.body)
		}
	})
}

func lens(pages [][]string) []int {
	var out []int
	for _, p := range pages {
		out = append(out, len(p))
	}
	return out
}

func TestDogsAndWalksInProgressPage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		for i, n := range []string{"rex", "Bella", "max", "Ace", "bo"} {
			a.createDog(walker.Dog{Name: n, Age: i, Size: walker.SizeSM})
		}
		b := a.browser()
		if got := flatten(apiPages(t, b, "/api/dogs?limit=2")); !slices.Equal(got, []string{"Ace", "Bella", "bo", "max", "rex"}) {
			t.Errorf("dogs = %v", got)
		}
		if got := flatten(apiPages(t, b, "/api/dogs?limit=1&q=B")); !slices.Equal(got, []string{"Bella", "bo"}) {
			t.Errorf("dogs starting with B = %v", got)
		}
		if pages, _ := htmlPages(t, b, "/dogs/?q=ma"); !slices.Equal(flatten(pages), []string{"max"}) {
			t.Errorf("dogs page for ma = %v", pages)
		}

		// Walks in progress, oldest first, across pages; completed ones not.
		ctx := context.Background()
		w := testdb.CreateWalkers(t, a.store, "Ann")[0]
		base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		var want []string
		for i := range walker.DefaultPageSize + 10 {
			// Newest first, so that oldest-first is not id order.
			walk, err := a.store.StartWalk(ctx, 1, w.ID, base.Add(-time.Duration(i)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if i%10 == 3 {
				if _, err := a.store.CompleteWalk(ctx, walk.ID, 5, base); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want = append([]string{fmt.Sprintf("#%d", walk.ID)}, want...)
		}
		pages, firsts := htmlPages(t, b, "/walks/")
		if !slices.Equal(flatten(pages), want) || len(pages) != 2 || firsts != 1 {
			t.Errorf("walks in progress pages = %v (%d first links), want %v", pages, firsts, want)
		}
		if api := flatten(apiPages(t, b, "/api/walks?limit=7")); !slices.Equal(api, want) {
			t.Errorf("GET /api/walks = %v, want %v", api, want)
		}
	})
}

func TestPagingPastADeletedCursorRow(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		ws := testdb.CreateWalkers(t, a.store, "a1", "a2", "a3", "a4", "a5")
		b := a.browser()
		r := b.get("/api/walkers?limit=2")
		m := nextLink.FindStringSubmatch(r.header.Get("Link"))
		if m == nil {
			t.Fatalf("no next page: %v", r.header)
		}
		// The next page starts after a2: delete a2 (with the page's form) and a3.
		for _, w := range ws[1:3] {
			b.submit("/walkers/", fmt.Sprintf("/walkers/%d/delete/", w.ID), nil).want(t, http.StatusFound, "")
		}
		if got := apiPages(t, b, m[1]); len(got) != 1 || !slices.Equal(got[0], []string{"a4", "a5"}) {
			t.Errorf("pages after the deleted cursor row = %v, want one page of a4 a5", got)
		}
	})
}

func TestBadListInputIs400AndChangesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		dog, w := a.seed()
		b := a.browser()
		a.startWalk(b, dog, w)
		long := strings.Repeat("x", 128)
		cases := []struct{ path, text string }{
			{"/walkers/?after=garbage", "Invalid page cursor"},
			{"/dogs/?after=0.YQ", "Invalid page cursor"},
			{"/walks/?after=1.bm90LWEtdGltZQ", "Invalid page cursor"}, // key "not-a-time"
			{"/walkers/?q=" + long, "at most 127 characters"},
			{"/walkers/?q=%00", "control characters"},
			{"/dogs/?q=%ff", "control characters"},
			{"/walks/start/?walker_after=1.%2A", "Invalid page cursor"},
			{"/walks/start/?dog_q=" + long, "at most 127 characters"},
			{"/api/walkers?after=1.AA", `"after":"Invalid page cursor`},
			{"/api/walkers?limit=0", `"limit"`},
			{"/api/dogs?limit=501", `"limit"`},
			{"/api/dogs?limit=ten", `"limit"`},
			{"/api/walks?after=-4.YQ", `"after"`},
			{"/api/walks?q=rex", `"q"`},
		}
		before := a.snapshot()
		for _, c := range cases {
			b.get(c.path).want(t, http.StatusBadRequest, c.text)
		}
		if after := a.snapshot(); after != before {
			t.Errorf("bad list requests changed something: %+v, then %+v", before, after)
		}
	})
}

// snapshot is what a request could change: the rows and the counters.
type snapshot struct {
	walkers, dogs, walksInProgress int
	started, statements            float64
}

func (a *app) snapshot() snapshot {
	a.t.Helper()
	ctx := context.Background()
	ws, err1 := a.store.ListWalkers(ctx, walker.ListQuery{Limit: walker.MaxPageSize})
	ds, err2 := a.store.ListDogs(ctx, walker.ListQuery{Limit: walker.MaxPageSize})
	wk, err3 := a.store.ListWalksInProgress(ctx, walker.ListQuery{Limit: walker.MaxPageSize})
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			a.t.Fatal(err)
		}
	}
	s := snapshot{walkers: len(ws.Items), dogs: len(ds.Items), walksInProgress: len(wk.Items),
		started: metrictest.Value(a.t, a.reg, "walks_started_total", nil)}
	for _, op := range []string{"create", "update", "delete"} {
		s.statements += metrictest.Value(a.t, a.reg, "db_statements_total", map[string]string{"alias": "default", "vendor": a.store.Vendor(), "operation": op})
	}
	return s
}

var walkerOption = regexp.MustCompile(`<option value="(\d+)"[^>]*>([^<]+)</option>`)

// options lists the walker select's options of a start form page.
func walkerOptions(t *testing.T, page string) map[string]string {
	t.Helper()
	i := strings.Index(page, `<select id="walker"`)
	j := strings.Index(page[i:], "</select>")
	if i < 0 || j < 0 {
		t.Fatalf("no walker select:\n%s", page)
	}
	out := map[string]string{}
	for _, m := range walkerOption.FindAllStringSubmatch(page[i:i+j], -1) {
		out[html.UnescapeString(m[2])] = m[1]
	}
	return out
}

func TestStartFormFindsAWalkerBeyondTheFirstThousand(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		d := a.createDog(testdb.Rex)
		ws := testdb.CreateWalkers(t, a.store, numbered("Walker", 1500)...)
		target := ws[1336] // "Walker 1337"
		b := a.browser()

		page := b.get("/walks/start/")
		if page.status != 200 || len(page.body) > 30_000 {
			t.Fatalf("start form = %d, %d bytes; want 200 and at most 30 KB", page.status, len(page.body))
		}
		if opts := walkerOptions(t, page.body); len(opts) != 20 || !strings.Contains(page.body, `id="walker-more">`) {
			t.Errorf("the start form offers %d walkers, want 20 and a hint that more match", len(opts))
		}

		// Without JavaScript: the Find button GETs the form with the search.
		found := b.get("/walks/start/?dog_q=&walker_q=" + url.QueryEscape("walker 1337"))
		opts := walkerOptions(t, found.body)
		if opts["Walker 1337 (w1336@example.com)"] != fmt.Sprint(target.ID) || len(opts) != 1 {
			t.Fatalf("search for walker 1337 offers %v", opts)
		}
		if !strings.Contains(found.body, `value="walker 1337"`) {
			t.Errorf("the search box does not keep the search")
		}
		id := a.startWalk(b, d.ID, target.ID)
		if shown := b.get(fmt.Sprintf("/walks/start/?walk=%d", id)); !strings.Contains(shown.body, "Rex with Walker 1337") {
			t.Errorf("the started walk does not show its walker:\n%s", shown.body)
		}

		// Many matches: the next ones are a link away, none twice.
		first := b.get("/walks/start/?walker_q=Walker+1")
		more := regexp.MustCompile(`id="walker-more">[^<]*<a href="([^"]+)">show the next ones`).FindStringSubmatch(first.body)
		if more == nil {
			t.Fatalf("no link to the next matches:\n%s", first.body)
		}
		next := b.get(html.UnescapeString(more[1]))
		a1, a2 := walkerOptions(t, first.body), walkerOptions(t, next.body)
		if len(a1) != 20 || len(a2) != 20 {
			t.Fatalf("%d then %d matches, want 20 and 20", len(a1), len(a2))
		}
		for name := range a2 {
			if _, dup := a1[name]; dup || !strings.HasPrefix(name, "Walker 1") {
				t.Errorf("next matches offer %q again or out of the search", name)
			}
		}

		// A refused form comes back with the walker still chosen.
		r := b.submit("/walks/start/", "/walks/start/", url.Values{"walker": {fmt.Sprint(target.ID)}})
		r.want(t, http.StatusBadRequest, fmt.Sprintf(`<option value="%d" selected>Walker 1337`, target.ID))
	})
}

// TestStartScriptKnowsTheSizeLabels: start.js labels dogs as the server
// does (it has no other way to know them).
func TestStartScriptKnowsTheSizeLabels(t *testing.T) {
	t.Parallel()
	js := testtool.ReadFile(t, "static/start.js")
	for _, s := range walker.Sizes {
		if want := fmt.Sprintf("%s: '%s'", s, s.Label()); !strings.Contains(string(js), want) {
			t.Errorf("start.js lacks %s", want)
		}
	}
}

// TestStartFormEscapesNames: the options are rendered in Go, not by the
// template engine; they are escaped all the same.
func TestStartFormEscapesNames(t *testing.T) {
	t.Parallel()
	a := newApp(t, testdb.SQLite(t))
	d := a.createDog(walker.Dog{Name: `<script>alert("x")</script> & 'co'`, Age: 1, Size: walker.SizeXS})
	w := testdb.CreateWalkers(t, a.store, `Zoë "Z" <b>`)[0]
	page := a.browser().get("/walks/start/").body
	for _, want := range []string{
		fmt.Sprintf(`<option value="%d">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39; (xsmall)</option>`, d.ID),
		fmt.Sprintf(`<option value="%d">Zoë &#34;Z&#34; &lt;b&gt; (w0@example.com)</option>`, w.ID),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the start form lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>") {
		t.Errorf("a name went into the page unescaped:\n%s", page)
	}
}
