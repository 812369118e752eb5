package testtool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/proc"
)

var built struct {
	sync.Once
	dir, bin string
	err      error
}

// WalkerBinary builds walker (go build ./app/cmd/walker) once for the test
// binary; Main removes it at the end.
func WalkerBinary(t testing.TB) string {
	t.Helper()
	SkipShort(t, "the walker binary")
	built.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "walker-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "walker")
		out, err := exec.Command("go", "build", "-o", built.bin, "github.com/walkerhq/walker/app/cmd/walker").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// Main runs the tests and removes what WalkerBinary built: a TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// Walker is a `walker serve` that a test runs.
type Walker struct {
	*proc.Process
	Public, Metrics string // host:port of its two listeners
}

// StartWalker runs bin serve on an SQLite database in dir until the test
// ends, with env added (WALKER_ADDR and WALKER_METRICS_ADDR there choose
// its listeners, free loopback ports otherwise), and waits until both
// listeners answer.
func StartWalker(t testing.TB, bin, dir string, env ...string) *Walker {
	t.Helper()
	w := &Walker{Public: FreeAddr(t), Metrics: FreeAddr(t)}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "WALKER_ADDR="); ok {
			w.Public = v
		} else if v, ok := strings.CutPrefix(e, "WALKER_METRICS_ADDR="); ok {
			w.Metrics = v
		}
	}
	env = append([]string{"WALKER_ADDR=" + w.Public, "WALKER_METRICS_ADDR=" + w.Metrics,
		"WALKER_SQLITE_PATH=" + filepath.Join(dir, "walker.db"), "DATABASE_URL=", "DB_NAME=", "DB_HOST=",
		"WALKER_SECRET_KEY=0123456789abcdef0123456789abcdef"}, env...)
	w.Process = Start(t, dir, "walker", env, bin, "serve")
	for _, url := range []string{"http://" + w.Public + "/livez", "http://" + w.Metrics + "/metrics"} {
		if err := w.WaitHTTP(context.Background(), url, 30*time.Second, 200); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// Create POSTs body, JSON-encoded, to url of walker's API with header
// (nil: none) and returns the id of what it created.
func Create(url string, header http.Header, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if header != nil {
		req.Header = header.Clone()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var created struct{ ID int }
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &created) != nil || created.ID <= 0 {
		return 0, fmt.Errorf("POST %s = %d: %s", url, resp.StatusCode, b)
	}
	return created.ID, nil
}

// TracedWalk starts a walk through walker's API at base (a new walker, a
// new dog, then the walk), every request with header (a traceparent).
func TracedWalk(base string, header http.Header) error {
	walker, err := Create(base+"/api/walkers", header, map[string]any{"name": "Trace Walker", "email": "trace@example.com"})
	if err != nil {
		return err
	}
	dog, err := Create(base+"/api/dogs", header, map[string]any{"name": "Trace", "age": 3, "size": "md"})
	if err != nil {
		return err
	}
	_, err = Create(base+"/api/walks", header, map[string]any{"dog": dog, "walker": walker})
	return err
}

// OpenMetrics reads a /metrics as Prometheus asks for exemplars: in the
// OpenMetrics format (with basic auth when user is not "").
func OpenMetrics(url, user, password string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/openmetrics-text") {
		return "", fmt.Errorf("GET %s: %s %q", url, resp.Status, ct)
	}
	return string(b), err
}

// LogHasTrace reports whether walker's log has a request line of route
// with the trace id.
func LogHasTrace(log []byte, route, traceID string) bool {
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["route"] == route && line["trace_id"] == traceID {
			return true
		}
	}
	return false
}
