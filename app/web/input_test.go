package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/internal/poll"
)

// noServerFailure checks that nothing was counted or logged as a failure:
// no database error of any type and no 5xx answer (what the alerts and the
// availability objective read), no ERROR in the log.
func (a *app) noServerFailure() {
	a.t.Helper()
	metrictest.Expect(a.t, a.reg, "db_errors_total", nil, 0)
	for _, m := range metrictest.Series(a.t, a.reg, "http_requests_total", nil) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "status" && strings.HasPrefix(l.GetValue(), "5") && m.GetCounter().GetValue() != 0 {
				a.t.Errorf("%g answers with status %s", m.GetCounter().GetValue(), l.GetValue())
			}
		}
	}
	if strings.Contains(a.logs.String(), `"level":"ERROR"`) {
		a.t.Errorf("ERROR logged:\n%s", a.logs)
	}
}

// NUL and invalid UTF-8 are invalid input on every edge: a 400 with the
// field's error, the same on the forms and the JSON API, nothing stored,
// nothing counted as a server failure. (PostgreSQL refuses the bytes, so
// they used to come back as 503 "database unavailable".)
func TestBadTextIsAFieldError(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		dog, w := a.seed()
		br := a.browser()
		forms := []struct {
			name, path string
			fields     url.Values
			msg        string
		}{
			{"walker name with NUL", "/walkers/new/", url.Values{"name": {"Ann\x00"}, "email": {"ann@example.com"}}, walker.MsgNullChar},
			{"walker name not UTF-8", "/walkers/new/", url.Values{"name": {"Ann\xff"}, "email": {"ann@example.com"}}, walker.MsgInvalidUTF8},
			{"walker email with NUL", "/walkers/new/", url.Values{"name": {"Ann"}, "email": {"ann\x00@example.com"}}, walker.MsgNullChar},
			{"walker email not UTF-8", "/walkers/new/", url.Values{"name": {"Ann"}, "email": {"ann\xc3@example.com"}}, walker.MsgInvalidUTF8},
			{"dog name with NUL", "/dogs/new/", url.Values{"name": {"\x00"}, "age": {"2"}, "size": {"sm"}}, walker.MsgNullChar},
			{"dog name not UTF-8", "/dogs/new/", url.Values{"name": {"Rex\xed\xa0\x80"}, "age": {"2"}, "size": {"sm"}}, walker.MsgInvalidUTF8},
			{"walker edit with NUL", fmt.Sprintf("/walkers/%d/edit/", w), url.Values{"name": {"Al\x00ice"}, "email": {"alice@example.com"}}, walker.MsgNullChar},
			{"dog edit not UTF-8", fmt.Sprintf("/dogs/%d/edit/", dog), url.Values{"name": {"\xffRex"}, "age": {"3"}, "size": {"lg"}}, walker.MsgInvalidUTF8},
		}
		for _, f := range forms {
			r := br.submit(f.path, f.path, f.fields)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, f.msg) {
				t.Errorf("form %s: %d, want 400 with %q:\n%.300s", f.name, r.status, f.msg, r.body)
			}
		}
		api := []struct {
			name, method, path, body, field, msg string
		}{
			{"NUL escape", "POST", "/api/walkers", `{"name":"Ann\u0000","email":"ann@example.com"}`, "name", walker.MsgNullChar},
			{"raw invalid byte", "POST", "/api/walkers", "{\"name\":\"Ann\xff\",\"email\":\"ann@example.com\"}", "name", walker.MsgInvalidUTF8},
			{"lone high surrogate", "POST", "/api/walkers", `{"name":"Ann\ud800","email":"ann@example.com"}`, "name", walker.MsgInvalidUTF8},
			{"lone low surrogate", "POST", "/api/dogs", `{"name":"\udc00Rex","age":2}`, "name", walker.MsgInvalidUTF8},
			{"high surrogate then a letter", "POST", "/api/dogs", `{"name":"Rex\ud83d\u0041","age":2}`, "name", walker.MsgInvalidUTF8},
			{"email with NUL", "POST", "/api/walkers", `{"name":"Ann","email":"ann@example.com\u0000"}`, "email", walker.MsgNullChar},
			{"update with NUL", "PUT", fmt.Sprintf("/api/walkers/%d", w), `{"name":"Al\u0000ice","email":"alice@example.com"}`, "name", walker.MsgNullChar},
			{"dog update with a lone surrogate", "PUT", fmt.Sprintf("/api/dogs/%d", dog), `{"name":"\ud800","age":3,"size":"lg"}`, "name", walker.MsgInvalidUTF8},
		}
		for _, c := range api {
			r := br.json(c.method, c.path, c.body)
			want := fmt.Sprintf("%q:%q", c.field, c.msg)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, want) {
				t.Errorf("API %s: %d %s, want 400 with %s", c.name, r.status, r.body, want)
			}
		}
		wp, _ := a.store.ListWalkers(context.Background(), walker.ListQuery{})
		dp, _ := a.store.ListDogs(context.Background(), walker.ListQuery{})
		ws, ds := wp.Items, dp.Items
		if len(ws) != 1 || ws[0] != (walker.Walker{ID: w, Name: "Alice", Email: "alice@example.com"}) ||
			len(ds) != 1 || ds[0].Name != "Rex" {
			t.Errorf("the database changed: walkers %+v, dogs %+v", ws, ds)
		}
		a.noServerFailure()

		// Escaped text that is valid, surrogate pairs included, is kept as sent.
		br.json("POST", "/api/dogs", `{"name":"Caf\u00e9 \ud83d\udc15","age":2}`).want(t, http.StatusCreated, `"name":"Café 🐕"`)
	})
}

// Ids in paths are plain positive decimal numbers: /walkers/+2/delete/
// names no walker, so it deletes nothing.
func TestIDsArePlainNumbers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		dog, w := a.seed()
		walk := a.startWalk(a.browser(), dog, w)
		if dog != 1 || w != 1 || walk != 1 {
			t.Fatalf("seeded dog %d, walker %d, walk %d; the spellings below assume 1", dog, w, walk)
		}
		br := a.browser()
		for _, id := range []string{"abc", "+1", "01", "%2B1", "1.0", "0x1", "1e0", "-1", "0", "%201", "9223372036854775808", "18446744073709551617"} {
			for _, p := range []string{"/walkers/%s/delete/", "/dogs/%s/delete/"} {
				br.submit("/walkers/", fmt.Sprintf(p, id), nil).want(t, http.StatusNotFound, "")
			}
			for _, p := range []string{"/walkers/%s/edit/", "/walks/%s/complete/", "/walks/%s/status/", "/walks/start/?walk=%s"} {
				br.get(fmt.Sprintf(p, id)).want(t, http.StatusNotFound, "")
			}
			for _, c := range []struct{ method, path, body string }{
				{"DELETE", "/api/walkers/%s", ""}, {"DELETE", "/api/dogs/%s", ""}, {"GET", "/api/walks/%s", ""},
				{"PUT", "/api/walkers/%s", `{"name":"X","email":"x@example.com"}`},
				{"POST", "/api/walks/%s/complete", `{"distance":5}`},
			} {
				br.json(c.method, fmt.Sprintf(c.path, id), c.body).want(t, http.StatusNotFound, "")
			}
		}
		// The start form's selects follow the same rule.
		r := br.submit("/walks/start/", "/walks/start/", url.Values{"dog": {"+1"}, "walker": {"01"}})
		if r.status != http.StatusBadRequest || strings.Count(r.body, "Select a valid choice") != 2 {
			t.Errorf("start with dog +1 and walker 01: %d, want 400 with two field errors", r.status)
		}
		ctx := context.Background()
		if got, err := a.store.GetWalker(ctx, 1); err != nil || got.Name != "Alice" {
			t.Errorf("walker 1 = %+v, %v: changed by a lenient id", got, err)
		}
		if _, err := a.store.GetDog(ctx, 1); err != nil {
			t.Errorf("dog 1: %v", err)
		}
		if done, err := a.store.WalkComplete(ctx, 1); err != nil || done {
			t.Errorf("walk 1 complete = %v, %v; want still in progress", done, err)
		}
		// The plain spelling works.
		br.get("/walkers/1/edit/").want(t, http.StatusOK, "")
		br.json("DELETE", "/api/walkers/1", "").want(t, http.StatusNoContent, "")
	})
}

// A client that gives up while its statement waits is no database failure
// and no server error: no ERROR log, no db_errors_total, no 5xx; the
// request is recorded as 499 (nginx's "client closed request").
func TestClientGoneIsNoServerError(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *app) {
		blocked, release := a.lockWalkers(t)
		defer release()

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", a.srv.URL+"/api/walkers",
				strings.NewReader(`{"name":"Ann","email":"ann@example.com"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		if !poll.Until(10*time.Second, blocked) {
			t.Fatal("the insert never waited for the lock")
		}
		cancel()
		if err := <-done; err == nil {
			t.Fatal("the request was answered although its client gave up")
		}
		answered := func() bool { return metrictest.Value(a.t, a.reg, "http_requests_in_flight", nil) == 0 }
		if !poll.Until(15*time.Second, answered) {
			t.Fatal("the app is still serving the abandoned request")
		}
		release()
		metrictest.Expect(t, a.reg, "http_requests_total", map[string]string{"method": "POST", "route": "/api/walkers", "status": "499"}, 1)
		a.noServerFailure()
		if wp, _ := a.store.ListWalkers(context.Background(), walker.ListQuery{}); len(wp.Items) != 0 {
			t.Errorf("the abandoned insert stored %+v", wp.Items)
		}
	})
}

// lockWalkers holds a write lock on the walkers table from another
// connection, so that an insert waits. blocked reports when a statement is
// waiting for it (PostgreSQL says so; SQLite cannot, so there it is when a
// request is in flight: the insert then waits or meets the cancelled
// context, both the case under test).
func (a *app) lockWalkers(t *testing.T) (blocked func() bool, release func()) {
	t.Helper()
	postgres := a.db.DatabaseURL != ""
	lock := "BEGIN IMMEDIATE"
	if postgres {
		lock = "BEGIN; LOCK TABLE walkers IN ACCESS EXCLUSIVE MODE"
	}
	db := testdb.Raw(t, a.db)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(lock, "; ") {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	release = sync.OnceFunc(func() {
		conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
	})
	blocked = func() bool { return metrictest.Value(a.t, a.reg, "http_requests_in_flight", nil) == 1 }
	if postgres {
		blocked = func() bool {
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return err == nil && n > 0
		}
	}
	return blocked, release
}
