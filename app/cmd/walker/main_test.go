package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerhq/walker/app/internal/syncbuf"
	"github.com/walkerhq/walker/internal/localpg"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

type server struct {
	public, metrics string
	cancel          context.CancelFunc
	done            chan int
	logs            *syncbuf.Buffer
}

func startServe(t *testing.T, env map[string]string) *server {
	t.Helper()
	s := &server{public: testtool.FreeAddr(t), metrics: testtool.FreeAddr(t), done: make(chan int, 1), logs: &syncbuf.Buffer{}}
	full := map[string]string{
		"WALKER_ADDR":         s.public,
		"WALKER_METRICS_ADDR": s.metrics,
		"WALKER_SQLITE_PATH":  filepath.Join(t.TempDir(), "walker.db"),
		"WALKER_SECRET_KEY":   "test-secret-key-test-secret-key!",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		s.done <- run(ctx, []string{"serve"}, func(k string) string { return full[k] }, s.logs, s.logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	if err := poll.HTTP(ctx, "http://"+s.public+"/livez", 20*time.Second, 0); err != nil {
		t.Fatalf("serve did not come up: %v\nlogs:\n%s", err, s.logs)
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeKeepsMetricsOffThePublicListener(t *testing.T) {
	s := startServe(t, nil)
	tests := []struct {
		url      string
		status   int
		contains string
	}{
		{"http://" + s.public + "/metrics", http.StatusNotFound, ""},
		{"http://" + s.public + "/readyz", http.StatusOK, ""},
		{"http://" + s.public + "/ht/", http.StatusOK, ""},
		{"http://" + s.public + "/walks/start/", http.StatusOK, "Start a walk"},
		{"http://" + s.metrics + "/metrics", http.StatusOK, "walks_started_total 0"},
		{"http://" + s.metrics + "/metrics", http.StatusOK, `model_inserts_total{model="walk"} 0`},
		{"http://" + s.metrics + "/metrics", http.StatusOK, "go_sql_open_connections"},
		{"http://" + s.metrics + "/metrics", http.StatusOK, "process_resident_memory_bytes"},
		{"http://" + s.metrics + "/", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		status, body := get(t, tt.url)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s = %d, want %d with %q; body:\n%.300s", tt.url, status, tt.status, tt.contains, body)
		}
	}
	// The public requests above are counted by route template.
	_, body := get(t, "http://"+s.metrics+"/metrics")
	if !strings.Contains(body, `http_requests_total{method="GET",route="/walks/start/",status="200"} 1`) {
		t.Errorf("public request not counted by route:\n%s", testtool.Grep(body, "http_requests_total"))
	}
}

func TestServeLetsInFlightRequestsFinishOnShutdown(t *testing.T) {
	s := startServe(t, nil)
	// A request whose body is still arriving when the shutdown starts.
	conn, err := net.Dial("tcp", s.public)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"Late Walker","email":"late@example.com"}`
	fmt.Fprintf(conn, "POST /api/walkers HTTP/1.1\r\nHost: walker\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // let the server start reading it

	s.cancel()
	// The shutdown has closed the listener and now waits for us.
	closed := poll.Until(5*time.Second, func() bool {
		c, err := net.Dial("tcp", s.public)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if !closed {
		t.Fatal("the public listener still accepts after the shutdown began")
	}
	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request cut off: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("in-flight POST = %d, want 201", resp.StatusCode)
	}
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		if code != 0 {
			t.Errorf("serve exited %d after SIGTERM-like shutdown; logs:\n%s", code, s.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after the in-flight request finished")
	}
	if _, err := http.Get("http://" + s.public + "/livez"); err == nil {
		t.Error("public listener still answers after shutdown")
	}
}

func TestRunSubcommands(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "walker.db")
	env := func(k string) string {
		if k == "WALKER_SQLITE_PATH" {
			return dbPath
		}
		return ""
	}
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "walker dev (commit unknown)"},
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"migrate"}, 0, "migrations applied"},
		{[]string{"migrate"}, 0, "migrations applied"}, // idempotent
		{[]string{"demo"}, 0, "demo data loaded"},
		{[]string{"demo"}, 0, `"created":0`}, // idempotent
		{[]string{"serve", "--log-level", "loud"}, 2, "log level"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		code := run(context.Background(), tt.args, env, &out, &out)
		if code != tt.code || !strings.Contains(out.String(), tt.contains) {
			t.Errorf("walker %v = %d, want %d with %q; output:\n%s", tt.args, code, tt.code, tt.contains, out.String())
		}
	}
}

// TestMigrateWaitsForTheDatabase: with WALKER_DB_WAIT, migrate started
// before PostgreSQL (the chart's init container on a fresh install) waits
// for it instead of failing; without it, or past it, migrate fails.
func TestMigrateWaitsForTheDatabase(t *testing.T) {
	url, startPostgres := laterPostgres(t)
	migrate := func(wait string, out io.Writer) int {
		env := map[string]string{"DATABASE_URL": url, "WALKER_DB_WAIT": wait}
		return run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, out, out)
	}
	var quick bytes.Buffer
	if code := migrate("1s", &quick); code != 1 || !strings.Contains(quick.String(), "did not answer within 1s (WALKER_DB_WAIT)") {
		t.Errorf("migrate with no database and WALKER_DB_WAIT=1s = %d; output:\n%s", code, quick.String())
	}

	out := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() { done <- migrate("2m", out) }()
	if !poll.Until(30*time.Second, func() bool { return strings.Contains(out.String(), "waiting for the database") }) {
		t.Fatalf("migrate does not say it waits; output:\n%s", out)
	}
	startPostgres()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), "migrations applied") {
			t.Errorf("migrate = %d once the database came up; output:\n%s", code, out)
		}
	case <-time.After(time.Minute):
		t.Fatalf("migrate still waits a minute after the database came up; output:\n%s", out)
	}
}

// TestServeStartsWhileTheDatabaseIsDown: serve comes up without its
// database, alive but not ready, and ready once the database answers (a
// pod must not crash-loop while PostgreSQL restarts).
func TestServeStartsWhileTheDatabaseIsDown(t *testing.T) {
	url, startPostgres := laterPostgres(t)
	s := startServe(t, map[string]string{"DATABASE_URL": url, "WALKER_MIGRATE": "false"})
	if code, _ := get(t, "http://"+s.public+"/livez"); code != http.StatusOK {
		t.Errorf("/livez = %d with the database down, want 200", code)
	}
	if code, _ := get(t, "http://"+s.public+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with the database down, want 503", code)
	}
	startPostgres()
	if !poll.Until(30*time.Second, func() bool { code, _ := get(t, "http://"+s.public+"/readyz"); return code == http.StatusOK }) {
		t.Errorf("/readyz not 200 once the database is up; logs:\n%s", s.logs)
	}
}

// laterPostgres is the URL of a PostgreSQL server that start starts (and
// the test's end stops); until then nothing listens there.
func laterPostgres(t *testing.T) (url string, start func()) {
	t.Helper()
	localpg.Require(t)
	port := testtool.FreePort(t)
	url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=1", port)
	return url, func() {
		c, err := localpg.Start(context.Background(), "", port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Stop() })
	}
}
