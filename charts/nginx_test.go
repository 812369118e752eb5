package charts_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/testtool"
)

// pod is the nginx configuration the chart renders, running in a real
// nginx in front of the real app, as in the pod.
type pod struct {
	base    string // nginx's URL
	addr    string // nginx's host:port
	appPort int
	objs    *chart.Objects
	root    string // the processes' logs: walker.log, nginx.log
}

// podPassword is the metrics password of every pod the tests start.
const podPassword = "correct-horse-battery"

// startPod renders the chart with helm arguments args and runs its nginx in
// front of the app (on SQLite) until the test ends. existing are Secrets
// the cluster would already have (an existingSecret); appEnv are more
// variables for the app's process.
func startPod(t *testing.T, existing map[string]*corev1.Secret, appEnv []string, args ...string) *pod {
	t.Helper()
	nginx := testtool.Require(t, "nginx", "/usr/sbin")
	appPort, metricsPort, nginxPort := testtool.FreePort(t), testtool.FreePort(t), testtool.FreePort(t)
	objs := render(t, append([]string{"--set-string", "metrics.auth.password=" + podPassword,
		"--set", fmt.Sprintf("app.port=%d,app.metricsPort=%d", appPort, metricsPort)}, args...)...)

	// nginx's workers (when the test runs as root) must be able to read
	// the materialised files: a world-readable folder, not t.TempDir().
	root, err := os.MkdirTemp("", "walker-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	t.Cleanup(func() { os.RemoveAll(root) })
	p := &pod{addr: fmt.Sprintf("127.0.0.1:%d", nginxPort), appPort: appPort, objs: objs, root: root}
	p.base = "http://" + p.addr
	secrets := maps.Clone(objs.Secrets)
	maps.Copy(secrets, existing)
	nginxArgs, err := chart.LocalNginx(deployment(t, objs), chart.Sources{ConfigMaps: objs.ConfigMaps, Secrets: secrets}, root, p.addr)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, append([]string{"-t"}, nginxArgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the rendered configuration: %v\n%s", err, out)
	}
	// The chart's tracing variables as the kubelet would set them; the
	// listeners and the database are the test's.
	var env []string
	for _, e := range chart.LiteralEnv(chart.Container(deployment(t, objs), "walker"), release+"-pod", namespace) {
		if strings.HasPrefix(e, "OTEL_") {
			env = append(env, e)
		}
	}
	env = append(env, fmt.Sprintf("WALKER_ADDR=127.0.0.1:%d", appPort), fmt.Sprintf("WALKER_METRICS_ADDR=127.0.0.1:%d", metricsPort))
	testtool.StartWalker(t, testtool.WalkerBinary(t), root, append(env, appEnv...)...)
	nginxProc := testtool.Start(t, root, "nginx", nil, append([]string{nginx}, nginxArgs...)...)
	if err := nginxProc.WaitHTTP(context.Background(), p.base+"/readyz", 20*time.Second, 200); err != nil {
		t.Fatalf("the app does not answer through nginx: %v", err)
	}
	return p
}

// TestRenderedNginxInFrontOfTheApp runs the nginx configuration the chart
// renders in a real nginx, in front of the real app, as in the pod.
func TestRenderedNginxInFrontOfTheApp(t *testing.T) {
	p := startPod(t, nil, nil)

	type check struct {
		name     string
		method   string
		path     string
		user     string
		pass     string
		body     string
		status   int
		contains string
	}
	checks := []check{
		{"metrics without credentials", "GET", "/metrics", "", "", "", 401, ""},
		{"metrics with a wrong password", "GET", "/metrics", "prometheus", "wrong", "", 401, ""},
		{"metrics with a wrong user", "GET", "/metrics", "admin", podPassword, "", 401, ""},
		{"metrics with the password", "GET", "/metrics", "prometheus", podPassword, "", 200, "walks_started_total 0"},
		{"the start page", "GET", "/walks/start/", "", "", "", 200, "Start a walk"},
		{"liveness", "GET", "/livez", "", "", "", 200, "ok"},
		{"nginx health", "GET", "/nginx-health", "", "", "", 200, "ok"},
		{"the API through nginx", "POST", "/api/walkers", "", "", `{"name":"Ann","email":"ann@example.com"}`, 201, `"name":"Ann"`},
		{"metrics count the API call", "GET", "/metrics", "prometheus", podPassword, "", 200, `model_inserts_total{model="walker"} 1`},
		{"a body over nginx's limit", "POST", "/api/walkers", "", "", strings.Repeat("x", 2<<20), 413, ""},
	}
	for _, c := range checks {
		req, _ := http.NewRequest(c.method, p.base+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.contains) {
			t.Errorf("%s: %s %s = %d, want %d with %q:\n%.300s", c.name, c.method, c.path, resp.StatusCode, c.status, c.contains, b)
		}
		if srv := resp.Header.Get("Server"); srv != "nginx" {
			t.Errorf("%s: Server header %q, want the version hidden", c.name, srv)
		}
		if c.path == "/walks/start/" && len(resp.Header.Get("X-Request-ID")) != 32 {
			t.Errorf("nginx's request id did not reach the app: %q", resp.Header.Get("X-Request-ID"))
		}
	}

	// The chart's `helm test` hook, run against this nginx: its script with
	// its environment, the Service address replaced by nginx's.
	t.Run("helm test hook", func(t *testing.T) {
		curl := testtool.Require(t, "curl")
		hook, ok := p.objs.Pods[release+"-test"]
		if !ok {
			t.Fatalf("no helm test Pod: %v", chart.Names(p.objs.Pods))
		}
		c := hook.Spec.Containers[0]
		env := []string{"PATH=" + filepath.Dir(curl) + ":/usr/bin:/bin"}
		for _, e := range c.Env {
			switch {
			case e.Name == "BASE":
				env = append(env, "BASE="+p.base)
			case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
				env = append(env, e.Name+"="+string(p.objs.Secrets[e.ValueFrom.SecretKeyRef.Name].Data[e.ValueFrom.SecretKeyRef.Key]))
			default:
				env = append(env, e.Name+"="+e.Value)
			}
		}
		cmd := exec.Command(c.Command[0], append(c.Command[1:], c.Args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "/metrics is protected") {
			t.Errorf("the helm test script failed against the rendered nginx: %v\n%s", err, out)
		}
	})

	// A flood of guesses meets the rate limit before the password is checked.
	ctx := context.Background()
	limited := 0
	for range 40 {
		if status(http.DefaultClient, p.metricsRequest(ctx, "guess")) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("40 rapid password guesses were never rate limited")
	}
	// The metrics listener itself is only on loopback in the pod; here we
	// check that the public listener does not serve /metrics past nginx.
	if s := status(http.DefaultClient, get(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", p.appPort))); s != http.StatusNotFound {
		t.Errorf("the app's public listener serves /metrics: %d (0: no answer)", s)
	}
}
