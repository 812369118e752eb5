package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/metrics"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// failingStore is a walker.Store whose reads fail with err: a test double
// at the seam main wires (web.Config.Store), to reach the answers a real
// database gives only by accident, such as a bug (500) or an outage (503).
// Methods the tests do not call are the nil embedded Store's (a panic).
type failingStore struct {
	walker.Store
	err error
	// arrived, when set, makes a call wait until its caller gives up, and
	// is closed when it starts waiting.
	arrived chan struct{}
}

func (f failingStore) ListWalkers(ctx context.Context, _ walker.ListQuery) (walker.Page[walker.Walker], error) {
	if f.arrived != nil {
		close(f.arrived)
		<-ctx.Done()
		return walker.Page[walker.Walker]{}, ctx.Err()
	}
	return walker.Page[walker.Walker]{}, f.err
}

func (f failingStore) WalkComplete(context.Context, int64) (bool, error) { return false, f.err }

// newFailingApp is an app on st, with no database.
func newFailingApp(t *testing.T, st walker.Store) *app {
	return serve(t, st, metrics.NewRegistry())
}

// Each kind of error has its status, in HTML on the pages and in JSON on
// the API and the walk status, whichever route meets it.
func TestErrorsAnswerTheirStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		status int
		text   string
	}{
		{"not found", fmt.Errorf("get: %w", &walker.NotFoundError{Entity: "walker", ID: 7}), 404, "no walker with ID 7 found"},
		{"invalid input", walker.FieldErrors{"q": "Enter text."}, 400, "q: Enter text."},
		{"already complete", &walker.AlreadyCompleteError{ID: 3}, 400, "walk 3 is already complete"},
		{"database unavailable", fmt.Errorf("%w: %w", walker.ErrUnavailable, errors.New("connection refused")), 503, "the database is unavailable, please retry"},
		{"bug", errors.New(`syntax error at or near "SELEC"`), 500, "internal server error (request "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newFailingApp(t, failingStore{err: tc.err})
			b := a.browser()
			for _, route := range []struct{ path, contentType string }{
				{"/walkers/", "text/html"},
				{"/api/walkers", "application/json"},
				{"/walks/1/status/", "application/json"},
			} {
				r := b.get(route.path)
				if r.status != tc.status || !strings.Contains(r.body, tc.text) || !strings.HasPrefix(r.header.Get("Content-Type"), route.contentType) {
					t.Errorf("GET %s = %d %s %q, want %d %s with %q", route.path, r.status, r.header.Get("Content-Type"), r.body, tc.status, route.contentType, tc.text)
				}
				var body struct{ Fields map[string]string }
				if _, fields := tc.err.(walker.FieldErrors); fields && route.contentType == "application/json" && (json.Unmarshal([]byte(r.body), &body) != nil || len(body.Fields) == 0) {
					t.Errorf("GET %s: %s, want the field errors in fields", route.path, r.body)
				}
				id := r.header.Get("X-Request-ID")
				logged := testtool.Grep(a.logs.String(), `"request_id":"`+id+`"`)
				switch {
				case id == "":
					t.Errorf("GET %s: no X-Request-ID to find its log lines by", route.path)
				case tc.status == 500 && !strings.Contains(logged, `"level":"ERROR","msg":"request failed"`):
					t.Errorf("GET %s: the bug is not logged at ERROR with request id %s:\n%s", route.path, id, logged)
				case tc.status == 503 && !strings.Contains(logged, `"level":"WARN","msg":"database unavailable"`):
					t.Errorf("GET %s: the outage is not logged with request id %s:\n%s", route.path, id, logged)
				case tc.status < 500 && strings.Contains(logged, `"level":"ERROR"`):
					t.Errorf("GET %s: a %d logged at ERROR:\n%s", route.path, tc.status, logged)
				}
			}
		})
	}
}

// A client that gives up while the store works is answered 499 (counted,
// not logged as a failure), whatever error the store then returns.
func TestClientGoneIs499(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	a := newFailingApp(t, failingStore{arrived: arrived})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.srv.URL+"/api/walkers", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d although the client gave up", resp.StatusCode)
	}
	labels := map[string]string{"method": "GET", "route": "/api/walkers", "status": "499"}
	// The handler ends just after the client gave up.
	poll.Until(5*time.Second, func() bool { return metrictest.Value(t, a.reg, "http_requests_total", labels) == 1 })
	metrictest.Expect(t, a.reg, "http_requests_total", labels, 1)
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) || strings.Contains(a.logs.String(), `"level":"WARN"`) {
		t.Errorf("a client gone is logged as a failure:\n%s", a.logs)
	}
}

// A request no route takes belongs to no group: under the API's prefix it
// is answered in JSON, elsewhere with a page.
func TestUnmatchedRequestsAnswerAsTheirGroup(t *testing.T) {
	t.Parallel()
	b := newApp(t, testdb.SQLite(t)).browser()
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/nope/", 404, "text/html"},
		{"GET", "/api/nope", 404, "application/json"},
		{"PATCH", "/api/walkers", 405, "application/json"},
		{"PATCH", "/walkers/", 405, "text/html"},
	} {
		r := b.json(tc.method, tc.path, "")
		if r.status != tc.status || !strings.HasPrefix(r.header.Get("Content-Type"), tc.contentType) {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, r.status, r.header.Get("Content-Type"), tc.status, tc.contentType)
		}
	}
}
