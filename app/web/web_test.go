package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/syncbuf"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/metrics"
	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/app/web"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// app is a walker HTTP surface on a real store, as main wires it.
type app struct {
	t     *testing.T
	srv   *httptest.Server
	store *store.Store
	reg   *prometheus.Registry
	db    store.Config    // the database, for tests that lock it from outside
	logs  *syncbuf.Buffer // the app's log, every level
}

func newApp(t *testing.T, db store.Config, mutate ...func(*web.Config)) *app {
	t.Helper()
	st, reg := testdb.Migrated(t, db)
	a := serve(t, st, reg, mutate...)
	a.store, a.db = st, db
	return a
}

// serve runs the app on st, its metrics on reg.
func serve(t *testing.T, st walker.Store, reg *prometheus.Registry, mutate ...func(*web.Config)) *app {
	logs := &syncbuf.Buffer{}
	cfg := web.Config{
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:     st,
		Walks:     metrics.NewWalks(reg),
		HTTP:      metrics.NewHTTP(reg),
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv := httptest.NewServer(web.New(cfg))
	t.Cleanup(srv.Close)
	return &app{t: t, srv: srv, reg: reg, logs: logs}
}

// forEachBackend runs test on an app of each backend.
func forEachBackend(t *testing.T, test func(t *testing.T, a *app)) {
	testdb.OnEach(t, func(t *testing.T, db store.Config) { test(t, newApp(t, db)) })
}

// browser keeps cookies like a browser and does not follow redirects, so
// the tests see the 302s.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: a.t, base: a.srv.URL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	request  string // "GET /walkers/"
	status   int
	body     string
	location string
	header   http.Header
}

// want reports a response without the status, or whose body lacks text.
func (r response) want(t *testing.T, status int, text string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.body, text) {
		t.Errorf("%s = %d, want %d with %q:\n%.400s", r.request, r.status, status, text, r.body)
	}
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{request: req.Method + " " + req.URL.RequestURI(), status: resp.StatusCode, body: string(body),
		location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

var tokenField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit GETs the form page for its CSRF token, then POSTs the fields.
func (b *browser) submit(formPath, action string, fields url.Values) response {
	b.t.Helper()
	form := url.Values{}
	maps.Copy(form, fields)
	form.Set("csrf_token", b.token(formPath))
	return b.post(action, form)
}

// token is the CSRF token of the form at path.
func (b *browser) token(path string) string {
	b.t.Helper()
	page := b.get(path)
	m := tokenField.FindStringSubmatch(page.body)
	if m == nil {
		b.t.Fatalf("no csrf_token in %s (%d):\n%.500s", path, page.status, page.body)
	}
	return m[1]
}

func (b *browser) post(path string, fields url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) json(method, path, body string) response {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return b.do(req)
}

// seed stores Rex and Alice, the dog and the walker of most tests.
func (a *app) seed() (dogID, walkerID int64) {
	a.t.Helper()
	d, w := testdb.Seed(a.t, a.store)
	return d.ID, w.ID
}

func (a *app) createDog(d walker.Dog) walker.Dog {
	a.t.Helper()
	if err := a.store.CreateDog(context.Background(), &d); err != nil {
		a.t.Fatal(err)
	}
	return d
}

func (a *app) startWalk(b *browser, dog, w int64) int64 {
	a.t.Helper()
	r := b.submit("/walks/start/", "/walks/start/", url.Values{"dog": {fmt.Sprint(dog)}, "walker": {fmt.Sprint(w)}})
	var id int64
	if r.status != http.StatusFound {
		a.t.Fatalf("start = %d: %.300s", r.status, r.body)
	}
	if _, err := fmt.Sscanf(r.location, "/walks/start/?walk=%d", &id); err != nil {
		a.t.Fatalf("start redirected to %q", r.location)
	}
	return id
}

func TestWalkForms(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		dog, w := a.seed()
		b := a.browser()

		// The form lists the choices.
		page := b.get("/walks/start/")
		if page.status != 200 || !strings.Contains(page.body, "Rex (large)") || !strings.Contains(page.body, "Alice") {
			t.Fatalf("start form = %d:\n%s", page.status, page.body)
		}

		invalid := []struct {
			name   string
			fields url.Values
			errMsg string
		}{
			{"missing dog", url.Values{"walker": {fmt.Sprint(w)}}, "This field is required."},
			{"non-numeric dog", url.Values{"dog": {"rex"}, "walker": {fmt.Sprint(w)}}, "Select a valid choice."},
			{"negative walker", url.Values{"dog": {fmt.Sprint(dog)}, "walker": {"-3"}}, "Select a valid choice."},
			{"unknown dog", url.Values{"dog": {"999"}, "walker": {fmt.Sprint(w)}}, "Select a valid choice."},
		}
		for i, tt := range invalid {
			r := b.submit("/walks/start/", "/walks/start/", tt.fields)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.errMsg) {
				t.Errorf("%s: %d, want 400 with %q", tt.name, r.status, tt.errMsg)
			}
			metrictest.Expect(t, a.reg, "invalid_walks_total", nil, float64(i+1))
		}
		metrictest.Expect(t, a.reg, "walks_started_total", nil, 0)

		id := a.startWalk(b, dog, w)
		metrictest.Expect(t, a.reg, "walks_started_total", nil, 1)
		shown := b.get(fmt.Sprintf("/walks/start/?walk=%d", id))
		if !strings.Contains(shown.body, fmt.Sprintf("Walk %d started.", id)) || !strings.Contains(shown.body, fmt.Sprintf(`href="/walks/%d/complete/"`, id)) {
			t.Errorf("the page after the start shows no flash or complete link:\n%s", shown.body)
		}
		if r := b.get(fmt.Sprintf("/walks/%d/status/", id)); r.status != 200 || strings.TrimSpace(r.body) != `{"complete":false}` {
			t.Errorf("status = %d %s", r.status, r.body)
		}
		if r := b.get("/walks/"); !strings.Contains(r.body, fmt.Sprintf("/walks/%d/complete/", id)) {
			t.Errorf("walks in progress does not list walk %d", id)
		}

		completePath := fmt.Sprintf("/walks/%d/complete/", id)
		for _, bad := range []string{"", "-5", "12.5", "abc", "100001"} {
			r := b.submit(completePath, completePath, url.Values{"distance": {bad}})
			if r.status != http.StatusBadRequest {
				t.Errorf("distance %q: %d, want 400", bad, r.status)
			}
		}
		metrictest.Expect(t, a.reg, "walks_completed_total", nil, 0)
		r := b.submit(completePath, completePath, url.Values{"distance": {"420"}})
		if r.status != http.StatusFound || r.location != fmt.Sprintf("/walks/start/?walk=%d", id) {
			t.Fatalf("complete = %d to %q: %.300s", r.status, r.location, r.body)
		}
		if r := b.get(fmt.Sprintf("/walks/%d/status/", id)); strings.TrimSpace(r.body) != `{"complete":true}` {
			t.Errorf("status after completion = %s", r.body)
		}
		metrictest.Expect(t, a.reg, "walks_completed_total", nil, 1)
		dist := metrictest.One(a.t, a.reg, "walk_distance", nil).GetHistogram()
		if dist.GetSampleCount() != 1 || dist.GetSampleSum() != 420 {
			t.Errorf("walk_distance count %d sum %g, want 1 and 420", dist.GetSampleCount(), dist.GetSampleSum())
		}

		// Completing again, or a missing walk: the original's codes and texts.
		tests := []struct {
			path   string
			status int
			text   string
		}{
			{completePath, http.StatusBadRequest, fmt.Sprintf("walk %d is already complete", id)},
			{"/walks/9999/complete/", http.StatusNotFound, "no walk with ID 9999 found"},
		}
		for _, tt := range tests {
			// A token from any page works: the cookie is per browser.
			b.post(tt.path, url.Values{"distance": {"10"}, "csrf_token": {b.token("/walks/start/")}}).want(t, tt.status, tt.text)
		}
		metrictest.Expect(t, a.reg, "walks_completed_total", nil, 1)
		b.get("/walks/9999/status/").want(t, 404, "no walk with ID 9999 found") // malformed ids: TestIDsArePlainNumbers
	})
}

func TestCSRFIsRequired(t *testing.T) {
	t.Parallel()
	a := newApp(t, testdb.SQLite(t))
	dog, w := a.seed()
	b := a.browser()
	b.get("/walks/start/") // has a cookie now
	other := a.browser()
	otherToken := other.token("/walks/start/")
	for name, token := range map[string]string{"no token": "", "forged token": "abc.def", "another browser's token": otherToken} {
		fields := url.Values{"dog": {fmt.Sprint(dog)}, "walker": {fmt.Sprint(w)}}
		if token != "" {
			fields.Set("csrf_token", token)
		}
		for _, path := range []string{"/walks/start/", "/walkers/new/", "/dogs/1/delete/"} {
			if r := b.post(path, fields); r.status != http.StatusForbidden {
				t.Errorf("%s to %s: %d, want 403", name, path, r.status)
			}
		}
	}
	metrictest.Expect(t, a.reg, "walks_started_total", nil, 0)
	if _, err := a.store.GetDog(context.Background(), dog); err != nil {
		t.Errorf("a forged request deleted the dog: %v", err)
	}
}

func TestConcurrentCompletionsCountOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		dog, w := a.seed()
		b := a.browser()
		id := a.startWalk(b, dog, w)
		path := fmt.Sprintf("/walks/%d/complete/", id)
		token := b.token(path)
		const n = 2
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses <- b.post(path, url.Values{"distance": {fmt.Sprint(100 * (i + 1))}, "csrf_token": {token}}).status
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[http.StatusFound] != 1 || count[http.StatusBadRequest] != 1 {
			t.Errorf("statuses %v, want one 302 and one 400", count)
		}
		metrictest.Expect(t, a.reg, "walks_completed_total", nil, 1)
		metrictest.Expect(t, a.reg, "walk_distance", nil, 1)
	})
}

func TestWalkerAndDogPages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		b := a.browser()
		tests := []struct {
			name, form     string
			fields         url.Values
			status         int
			location, text string
		}{
			{"walker created", "/walkers/new/", url.Values{"name": {"Bob"}, "email": {"bob@example.com"}}, 302, "/walkers/", ""},
			{"walker without name", "/walkers/new/", url.Values{"email": {"x@example.com"}}, 400, "", "This field is required."},
			{"walker with a bad email", "/walkers/new/", url.Values{"name": {"X"}, "email": {"nope"}}, 400, "", "Enter a valid email address."},
			{"dog created", "/dogs/new/", url.Values{"name": {"Fido"}, "age": {"4"}, "size": {"sm"}}, 302, "/dogs/", ""},
			{"dog with a negative age", "/dogs/new/", url.Values{"name": {"Fido"}, "age": {"-1"}, "size": {"sm"}}, 400, "", "Enter a whole number from 0 to 40."},
			{"dog with a text age", "/dogs/new/", url.Values{"name": {"Fido"}, "age": {"old"}, "size": {"sm"}}, 400, "", "Enter a whole number."},
			{"dog with an unknown size", "/dogs/new/", url.Values{"name": {"Fido"}, "age": {"1"}, "size": {"xxl"}}, 400, "", "Select a valid choice"},
		}
		for _, tt := range tests {
			r := b.submit(tt.form, tt.form, tt.fields)
			if r.status != tt.status || r.location != tt.location || !strings.Contains(r.body, tt.text) {
				t.Errorf("%s: %d to %q, want %d to %q with %q", tt.name, r.status, r.location, tt.status, tt.location, tt.text)
			}
		}
		if r := b.get("/walkers/"); !strings.Contains(r.body, "bob@example.com") {
			t.Errorf("walkers page lacks Bob:\n%s", r.body)
		}
		// The flash shows once, on the page after the redirect.
		b.submit("/walkers/new/", "/walkers/new/", url.Values{"name": {"Cy"}, "email": {"cy@example.com"}})
		if r := b.get("/walkers/"); !strings.Contains(r.body, "Walker Cy added.") {
			t.Errorf("no flash after the redirect:\n%s", r.body)
		}
		if r := b.get("/walkers/"); strings.Contains(r.body, "Walker Cy added.") {
			t.Errorf("the flash shows twice")
		}
		wp, _ := a.store.ListWalkers(context.Background(), walker.ListQuery{})
		dp, _ := a.store.ListDogs(context.Background(), walker.ListQuery{})
		ws, ds := wp.Items, dp.Items
		if len(ws) != 2 || len(ds) != 1 {
			t.Fatalf("stored %d walkers and %d dogs, want 2 and 1", len(ws), len(ds))
		}
		edit := fmt.Sprintf("/dogs/%d/edit/", ds[0].ID)
		b.submit(edit, edit, url.Values{"name": {"Fido"}, "age": {"5"}, "size": {"xl"}}).want(t, 302, "")
		if d, _ := a.store.GetDog(context.Background(), ds[0].ID); d.Age != 5 || d.Size != walker.SizeXL {
			t.Errorf("edited dog = %+v", d)
		}
		b.get("/dogs/999/edit/").want(t, 404, "no dog with ID 999 found")
		del := fmt.Sprintf("/walkers/%d/delete/", ws[0].ID)
		b.submit("/walkers/", del, nil).want(t, 302, "")
		b.submit("/walkers/new/", del, nil).want(t, 404, "") // deleted already
		metrictest.Expect(t, a.reg, "model_deletes_total", map[string]string{"model": "walker"}, 1)
	})
}

func TestJSONAPI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		b := a.browser()
		steps := []struct {
			name, method, path, body string
			status                   int
			text                     string
		}{
			{"create walker", "POST", "/api/walkers", `{"name":"Ann","email":"ann@example.com"}`, 201, `"id":1`},
			{"invalid walker", "POST", "/api/walkers", `{"name":"","email":"ann@example.com"}`, 400, `"name":"This field is required."`},
			{"unknown field", "POST", "/api/walkers", `{"name":"A","email":"a@example.com","admin":true}`, 400, "unknown field"},
			{"two objects", "POST", "/api/walkers", `{"name":"A","email":"a@example.com"}{}`, 400, "single JSON object"},
			{"broken JSON", "POST", "/api/walkers", `{"name":`, 400, "invalid JSON"},
			{"create dog", "POST", "/api/dogs", `{"name":"Rex","age":2}`, 201, `"size":"md"`},
			{"dog without age", "POST", "/api/dogs", `{"name":"Rex"}`, 400, `"age"`},
			{"start walk", "POST", "/api/walks", `{"dog":1,"walker":1}`, 201, `"complete":false`},
			{"start with missing dog", "POST", "/api/walks", `{"dog":7,"walker":1}`, 400, `"dog":"Select a valid choice.`},
			{"start with no ids", "POST", "/api/walks", `{}`, 400, `"dog"`},
			{"get walk", "GET", "/api/walks/1", "", 200, `"dog":1`},
			{"complete without distance", "POST", "/api/walks/1/complete", `{}`, 400, `"distance"`},
			{"complete negative", "POST", "/api/walks/1/complete", `{"distance":-1}`, 400, `"distance"`},
			{"complete", "POST", "/api/walks/1/complete", `{"distance":150}`, 200, `"complete":true`},
			{"complete again", "POST", "/api/walks/1/complete", `{"distance":150}`, 400, "walk 1 is already complete"},
			{"complete missing", "POST", "/api/walks/99/complete", `{"distance":150}`, 404, "no walk with ID 99 found"},
			{"update walker", "PUT", "/api/walkers/1", `{"name":"Anna","email":"anna@example.com"}`, 200, `"name":"Anna"`},
			{"update missing walker", "PUT", "/api/walkers/5", `{"name":"Anna","email":"anna@example.com"}`, 404, "no walker with ID 5 found"},
			{"list walkers", "GET", "/api/walkers", "", 200, `[{"id":1,"name":"Anna"`},
			{"bad id", "GET", "/api/dogs/x", "", 404, "no dog with ID x found"},
			{"delete dog", "DELETE", "/api/dogs/1", "", 204, ""},
			{"walk went with its dog", "GET", "/api/walks/1", "", 404, "no walk with ID 1 found"},
		}
		for _, s := range steps {
			r := b.json(s.method, s.path, s.body)
			if r.status != s.status || !strings.Contains(r.body, s.text) {
				t.Errorf("%s: %s %s = %d %s, want %d with %s", s.name, s.method, s.path, r.status, r.body, s.status, s.text)
			}
		}
		metrictest.Expect(t, a.reg, "walks_started_total", nil, 1)
		metrictest.Expect(t, a.reg, "invalid_walks_total", nil, 2)

		// Form-encoded posts to the API are refused: no CSRF hole there.
		b.post("/api/walks", url.Values{"dog": {"1"}, "walker": {"1"}}).want(t, http.StatusUnsupportedMediaType, "")
	})
}

func TestLimitsHealthAndHeaders(t *testing.T) {
	t.Parallel()
	down := errors.New("database down")
	var ready error
	a := newApp(t, testdb.SQLite(t), func(c *web.Config) {
		c.MaxBodyBytes = 1024
		c.Ready = func(context.Context) error { return ready } // the seam: an unreachable database
	})
	b := a.browser()
	big := `{"name":"` + strings.Repeat("x", 2000) + `","email":"a@example.com"}`
	b.json("POST", "/api/walkers", big).want(t, http.StatusRequestEntityTooLarge, "")
	if ws, _ := a.store.ListWalkers(context.Background(), walker.ListQuery{}); len(ws.Items) != 0 {
		t.Errorf("an oversized request stored something")
	}
	for _, p := range []string{"/livez", "/readyz", "/ht/"} {
		b.get(p).want(t, 200, "ok")
	}
	ready = down
	// livez does not depend on the database.
	for p, want := range map[string]int{"/readyz": 503, "/ht/": 503, "/livez": 200} {
		b.get(p).want(t, want, "")
	}
	r := b.get("/walks/start/")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("header %s = %q, want %q", h, r.header.Get(h), want)
		}
	}
	if len(r.header.Get("X-Request-ID")) != 32 {
		t.Errorf("no generated request id: %q", r.header.Get("X-Request-ID"))
	}
	req, _ := http.NewRequest("GET", b.base+"/livez", nil)
	req.Header.Set("X-Request-ID", "from-nginx-123")
	if r := b.do(req); r.header.Get("X-Request-ID") != "from-nginx-123" {
		t.Errorf("nginx's request id not kept: %q", r.header.Get("X-Request-ID"))
	}
	b.get("/metrics").want(t, 404, "") // public /metrics
	if r := b.get("/static/style.css"); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css = %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestHTTPMetricsUseRouteTemplates(t *testing.T) {
	t.Parallel()
	a := newApp(t, testdb.SQLite(t))
	dog, w := a.seed()
	b := a.browser()
	id := a.startWalk(b, dog, w)
	b.get(fmt.Sprintf("/walks/%d/status/", id))
	b.get("/walks/424242/status/")
	b.get("/no/such/page")
	b.get("/walks/start") // gin redirects to the slash form before any middleware
	b.json("PROPFIND", "/walks/start/", "")

	for _, labels := range []map[string]string{
		{"method": "GET", "route": "/walks/start/", "status": "200"},
		{"method": "POST", "route": "/walks/start/", "status": "302"},
		{"method": "GET", "route": "/walks/:id/status/", "status": "200"},
		{"method": "GET", "route": "/walks/:id/status/", "status": "404"},
		{"method": "GET", "route": "unmatched", "status": "404"},
		{"method": "GET", "route": "unmatched", "status": "301"},
		{"method": "OTHER", "route": "unmatched", "status": "405"},
	} {
		metrictest.Expect(t, a.reg, "http_requests_total", labels, 1)
	}
	metrictest.Expect(t, a.reg, "http_request_duration_seconds", map[string]string{"method": "GET", "route": "/walks/:id/status/"}, 2)
	metrictest.Expect(t, a.reg, "http_template_renders_total", map[string]string{"template": "start.html"}, 1)
	metrictest.Expect(t, a.reg, "http_requests_in_flight", nil, 0)
	if m := metrictest.One(a.t, a.reg, "http_request_size_bytes", map[string]string{"method": "POST", "route": "/walks/start/"}); m.GetHistogram().GetSampleSum() <= 0 {
		t.Errorf("request size not observed for the form post")
	}
	if m := metrictest.One(a.t, a.reg, "http_response_size_bytes", map[string]string{"method": "GET", "route": "/walks/start/"}); m.GetHistogram().GetSampleSum() < 500 {
		t.Errorf("response size not observed for the form page")
	}
}

// panicStore is the one seam the real store cannot reach: a handler panic.
type panicStore struct{ *store.Store }

func (panicStore) WalkComplete(context.Context, int64) (bool, error) { panic("boom") }

func TestPanicsAreRecoveredAndCounted(t *testing.T) {
	t.Parallel()
	a := newApp(t, testdb.SQLite(t), func(c *web.Config) {
		c.Store = panicStore{c.Store.(*store.Store)}
	})
	r := a.browser().get("/walks/1/status/")
	if r.status != 500 || strings.Contains(r.body, "boom") || strings.Contains(r.body, "goroutine") {
		t.Errorf("panic answered %d %q; want a plain 500 without details", r.status, r.body)
	}
	metrictest.Expect(t, a.reg, "http_panics_total", map[string]string{"route": "/walks/:id/status/"}, 1)
	metrictest.Expect(t, a.reg, "http_requests_total", map[string]string{"method": "GET", "route": "/walks/:id/status/", "status": "500"}, 1)
}
