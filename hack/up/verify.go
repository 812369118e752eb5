package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func execCombined(argv ...string) (string, error) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// verify checks what `make up` promises: the auth on /metrics, the routes
// through nginx, and Prometheus scraping a walk that we start now.
func (s *stack) verify(ctx context.Context) error {
	checks := []struct {
		what       string
		path       string
		user, pass string
		want       int
		contains   string
	}{
		{"metrics without credentials", "/metrics", "", "", 401, ""},
		{"metrics with a wrong password", "/metrics", s.username, "wrong", 401, ""},
		{"metrics with the generated password", "/metrics", s.username, s.password, 200, "walks_started_total"},
		{"the start page through nginx", "/walks/start/", "", "", 200, "Start a walk"},
		{"readiness through nginx", "/readyz", "", "", 200, ""},
	}
	for _, c := range checks {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.appURL()+c.path, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.contains) {
			return fmt.Errorf("%s: GET %s = %d, want %d with %q", c.what, c.path, resp.StatusCode, c.want, c.contains)
		}
		fmt.Fprintf(s.opts.out, "ok  %s: %d\n", c.what, resp.StatusCode)
	}

	// One walk through the browser's path; Prometheus must see it.
	before, err := s.query(ctx, "sum(walks_started_total)")
	if err != nil {
		return err
	}
	dog, err := createViaAPI(s.appURL(), "/api/dogs", map[string]any{"name": "Check", "age": 3, "size": "md"})
	if err != nil {
		return err
	}
	walker, err := createViaAPI(s.appURL(), "/api/walkers", map[string]any{"name": "Check Walker", "email": "check@example.com"})
	if err != nil {
		return err
	}
	if err := newLifecycleClient(s.appURL(), dog, walker).lifecycle(make([][]time.Duration, len(steps))); err != nil {
		return fmt.Errorf("walk lifecycle through nginx: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		after, err := s.query(ctx, "sum(walks_started_total)")
		if err == nil && after == before+1 {
			fmt.Fprintf(s.opts.out, "ok  Prometheus scraped the new walk through nginx: walks_started_total %g -> %g\n", before, after)
			return s.verifyObservability(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Prometheus did not see the walk: walks_started_total %g -> %g (%v)", before, after, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// query returns the single value of an instant query.
func (s *stack) query(ctx context.Context, expr string) (float64, error) {
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(ctx, s.promURL()+"/api/v1/query?query="+url.QueryEscape(expr), &body); err != nil {
		return 0, err
	}
	if len(body.Data.Result) != 1 {
		return 0, fmt.Errorf("%s: %d series", expr, len(body.Data.Result))
	}
	v, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(v, 64)
}

// bench is `make bench`: the walk lifecycle as a browser does it, 8 clients,
// through nginx on PostgreSQL; then status reads; then pages during a
// password-guess flood and nginx's CPU per scrape; then the same lifecycle
// with the HTTP instrumentation off, to price it.
func (s *stack) bench(ctx context.Context) error {
	w := s.opts.out
	const clients = 8
	dog, err := createViaAPI(s.appURL(), "/api/dogs", map[string]any{"name": "Bench", "age": 5, "size": "lg"})
	if err != nil {
		return err
	}
	walker, err := createViaAPI(s.appURL(), "/api/walkers", map[string]any{"name": "Bench Walker", "email": "bench@example.com"})
	if err != nil {
		return err
	}
	lifecycles := func() loadResult {
		return runLoad(ctx, clients, s.opts.benchFor, func(int) func([][]time.Duration) error {
			c := newLifecycleClient(s.appURL(), dog, walker)
			return c.lifecycle
		})
	}

	fmt.Fprintf(w, "\nwarming up (3s)\n")
	runLoad(ctx, clients, 3*time.Second, func(int) func([][]time.Duration) error {
		return newLifecycleClient(s.appURL(), dog, walker).lifecycle
	})

	fmt.Fprintf(w, "\nwalk lifecycle (5 requests, CSRF included), %d clients, %s, through nginx, PostgreSQL:\n", clients, s.opts.benchFor)
	profiled := make(chan error, 1)
	if s.opts.profile != "" {
		go func() { profiled <- s.cpuProfile(ctx, s.opts.benchFor-2*time.Second) }()
	} else {
		profiled <- nil
	}
	withMetrics := lifecycles()
	withMetrics.print(w, "lifecycles")
	if err := <-profiled; err != nil {
		return err
	}

	// A completed walk to read.
	c := newLifecycleClient(s.appURL(), dog, walker)
	if err := c.lifecycle(make([][]time.Duration, len(steps))); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nstatus reads (GET /walks/<id>/status/), %d clients, %s:\n", clients, s.opts.benchFor)
	reads := runLoad(ctx, clients, s.opts.benchFor, func(int) func([][]time.Duration) error {
		cl := newLifecycleClient(s.appURL(), dog, walker)
		return func(lats [][]time.Duration) error {
			var err error
			lats[4], _, _, err = cl.do(lats[4], http.MethodGet, "/walks/1/status/", nil, http.StatusOK)
			return err
		}
	})
	reads.print(w, "reads")

	edgeErrors, err := s.benchEdge(ctx, dog, walker)
	if err != nil {
		return err
	}

	rss, err := peakRSS(s.app.Pid())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\napp peak RSS (VmHWM): %.1f MiB\n", float64(rss)/(1<<20))
	render, size, err := s.metricsRenderTime(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "/metrics render (direct, median of 200): %s for %d bytes\n", render, size)

	fmt.Fprintf(w, "\nrestarting walker with WALKER_HTTP_METRICS=false to price the instrumentation\n")
	s.app.Stop(10 * time.Second)
	s.appEnv = append(s.appEnv, "WALKER_HTTP_METRICS=false")
	if err := s.startApp(ctx); err != nil {
		return err
	}
	runLoad(ctx, clients, 3*time.Second, func(int) func([][]time.Duration) error {
		return newLifecycleClient(s.appURL(), dog, walker).lifecycle
	})
	without := lifecycles()
	without.print(w, "lifecycles (no HTTP metrics)")
	fmt.Fprintf(w, "\nHTTP metrics cost: %.1f%% of lifecycle throughput (%.0f/s with, %.0f/s without)\n",
		100*(1-withMetrics.perSecond()/without.perSecond()), withMetrics.perSecond(), without.perSecond())
	if withMetrics.Errors > 0 || without.Errors > 0 || reads.Errors > 0 || edgeErrors > 0 {
		return fmt.Errorf("the load runs had errors")
	}
	return nil
}

// peakRSS reads the process's high-water resident set size.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// metricsRenderTime times GET /metrics on the metrics listener: the app's
// part of a scrape, without nginx's.
func (s *stack) metricsRenderTime(ctx context.Context) (time.Duration, int, error) {
	var ds []time.Duration
	size := 0
	for range 200 {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", s.opts.metricsPort), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ds = append(ds, time.Since(start))
		size = len(b)
	}
	return percentile(ds, 0.5).Round(10 * time.Microsecond), size, nil
}

// cpuProfile saves the app's CPU profile over d (go tool pprof reads it).
func (s *stack) cpuProfile(ctx context.Context, d time.Duration) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", s.opts.metricsPort, int(d.Seconds()))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(s.opts.profile)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
