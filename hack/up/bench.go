package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/walkerhq/walker/internal/testtool"
)

// phase is what one database state measured: the lifecycle and the status
// reads, each with the app's CPU time.
type phase struct {
	name      string
	lifecycle loadResult
	reads     loadResult
	peakRSS   int64
}

// bench is `make bench`: the walk lifecycle as a browser does it, 8 clients,
// through nginx on PostgreSQL; then status reads; then pages during a
// password-guess flood and nginx's CPU per scrape; with --scale the
// lifecycle and reads again on a database of the sizes, side by
// side; then the lifecycle with the HTTP instrumentation off, to price it.
func (s *stack) bench(ctx context.Context) error {
	w := s.opts.out
	t, err := createParents(s.appURL(), "Bench", 5, "lg")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwarming up (3s)\n")
	s.lifecycles(ctx, t, 3*time.Second)

	empty, err := s.measure(ctx, "empty", t, s.opts.profile)
	if err != nil {
		return err
	}
	phases := []*phase{empty}
	errs, err := s.benchEdge(ctx, t)
	if err != nil {
		return err
	}
	if s.opts.scale {
		sizes, err := s.seedScale(ctx)
		if err != nil {
			return err
		}
		if err := s.printPages(ctx); err != nil {
			return err
		}
		scale, err := s.measure(ctx, "at scale", target{s.appURL(), sizes.lastDog, sizes.lastWalker}, "")
		if err != nil {
			return err
		}
		phases = append(phases, scale)
	} else {
		render, err := timeGet(ctx, s.metricsURL(), 200)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "/metrics render (direct, median of 200): %s for %d bytes\n", render.median, render.size)
	}
	printSideBySide(w, phases)
	for _, p := range phases {
		errs += p.lifecycle.Errors + p.reads.Errors
	}

	fmt.Fprintf(w, "\nrestarting walker with WALKER_HTTP_METRICS=false to price the instrumentation\n")
	s.app.Stop(10 * time.Second)
	s.appEnv = append(s.appEnv, "WALKER_HTTP_METRICS=false")
	if err := s.startApp(ctx); err != nil {
		return err
	}
	s.lifecycles(ctx, t, 3*time.Second)
	without := s.lifecycles(ctx, t, s.opts.benchFor)
	without.print(w, "lifecycles (no HTTP metrics)")
	with := phases[len(phases)-1].lifecycle
	fmt.Fprintf(w, "\nHTTP metrics cost: %.1f%% of lifecycle throughput (%.0f/s with, %.0f/s without%s)\n",
		100*(1-with.perSecond()/without.perSecond()), with.perSecond(), without.perSecond(),
		map[bool]string{true: ", both at scale", false: ""}[s.opts.scale])
	if errs+without.Errors > 0 {
		return fmt.Errorf("the load runs had errors")
	}
	return nil
}

const benchClients = 8

// createParents creates, through the API, a dog called name and a walker
// called name Walker, for lifecycles.
func createParents(base, name string, age int, size string) (target, error) {
	t := target{base: base}
	var err error
	if t.dog, err = testtool.Create(base+"/api/dogs", nil, map[string]any{"name": name, "age": age, "size": size}); err != nil {
		return t, err
	}
	t.walker, err = testtool.Create(base+"/api/walkers", nil, map[string]any{"name": name + " Walker", "email": strings.ToLower(name) + "@example.com"})
	return t, err
}

// lifecycles runs the lifecycle load for d, with the app's CPU time over
// it.
func (s *stack) lifecycles(ctx context.Context, t target, d time.Duration) loadResult {
	return s.withCPU(func() loadResult {
		return t.run(ctx, benchClients, d, func(ctx context.Context, c *lifecycleClient) error {
			return c.lifecycle(ctx)
		})
	})
}

// measure runs the lifecycle (profiled into profile when set), then the
// status reads, and prints both with the app's peak RSS.
func (s *stack) measure(ctx context.Context, name string, t target, profile string) (*phase, error) {
	w := s.opts.out
	p := &phase{name: name}
	fmt.Fprintf(w, "\n== %s database\n\nwalk lifecycle (5 requests, CSRF included), %d clients, %s, through nginx, PostgreSQL:\n",
		name, benchClients, s.opts.benchFor)
	profiled := make(chan error, 1)
	if profile != "" {
		go func() { profiled <- s.cpuProfile(ctx, profile, s.opts.benchFor-2*time.Second) }()
	} else {
		profiled <- nil
	}
	p.lifecycle = s.lifecycles(ctx, t, s.opts.benchFor)
	p.lifecycle.print(w, "lifecycles")
	if err := <-profiled; err != nil {
		return nil, err
	}

	// A completed walk to read.
	c := t.client()
	if err := c.lifecycle(ctx); err != nil {
		return nil, err
	}
	path := "/walks/" + strconv.FormatInt(c.lastWalk, 10) + "/status/"
	fmt.Fprintf(w, "\nstatus reads (GET %s), %d clients, %s:\n", path, benchClients, s.opts.benchFor)
	p.reads = s.withCPU(func() loadResult { return t.run(ctx, benchClients, s.opts.benchFor, get(4, path)) })
	p.reads.print(w, "reads")
	rss, err := peakRSS(s.app.Pid())
	if err != nil {
		return nil, err
	}
	p.peakRSS = rss
	fmt.Fprintf(w, "\napp peak RSS so far (VmHWM): %.1f MiB\n", float64(rss)/(1<<20))
	return p, nil
}

// withCPU runs load and adds the app's CPU time over it.
func (s *stack) withCPU(load func() loadResult) loadResult {
	before, berr := processCPU(s.app.Pid())
	r := load()
	after, aerr := processCPU(s.app.Pid())
	if berr == nil && aerr == nil {
		r.CPU = after - before
	}
	return r
}

// printSideBySide compares the phases' figures (the first is the baseline).
func printSideBySide(w io.Writer, phases []*phase) {
	if len(phases) < 2 {
		return
	}
	base := phases[0]
	fmt.Fprintf(w, "\n== side by side (one run, same app process)\n\n%-34s", "")
	for _, p := range phases {
		fmt.Fprintf(w, " %22s", p.name)
	}
	fmt.Fprintln(w)
	row := func(label string, f func(*phase) string) {
		fmt.Fprintf(w, "%-34s", label)
		for _, p := range phases {
			fmt.Fprintf(w, " %22s", f(p))
		}
		fmt.Fprintln(w)
	}
	row("lifecycles/s", func(p *phase) string {
		return fmt.Sprintf("%.0f (%.0f%%)", p.lifecycle.perSecond(), 100*p.lifecycle.perSecond()/base.lifecycle.perSecond())
	})
	row("lifecycle app CPU per request", func(p *phase) string { return p.lifecycle.cpuPerRequest().String() })
	row("lifecycle p50 / p99 (all steps)", func(p *phase) string { return p.lifecycle.p50p99() })
	row("status reads/s", func(p *phase) string { return fmt.Sprintf("%.0f", p.reads.perSecond()) })
	row("status app CPU per request", func(p *phase) string { return p.reads.cpuPerRequest().String() })
	row("status p50 / p99", func(p *phase) string { return p.reads.p50p99() })
	row("app peak RSS so far", func(p *phase) string { return fmt.Sprintf("%.1f MiB", float64(p.peakRSS)/(1<<20)) })
}

// processCPU is the CPU time of a process: the sum over its threads of
// the scheduler's nanosecond counters (/proc/<pid>/task/*/schedstat; the
// 10 ms ticks of /proc/<pid>/stat are too coarse for one scrape's cost).
func processCPU(pid int) (time.Duration, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("no threads of pid %d", pid)
	}
	var total time.Duration
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // the thread ended
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			return 0, err
		}
		total += time.Duration(ns)
	}
	return total, nil
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

// cpuProfile saves the app's CPU profile over d (go tool pprof reads it).
func (s *stack) cpuProfile(ctx context.Context, file string, d time.Duration) error {
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
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
