package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/promapi"
)

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
	t, err := createParents(s.appURL(), "Check", 3, "md")
	if err != nil {
		return err
	}
	if err := t.client().lifecycle(); err != nil {
		return fmt.Errorf("walk lifecycle through nginx: %w", err)
	}
	var after float64
	if !poll.Until(30*time.Second, func() bool {
		after, err = s.query(ctx, "sum(walks_started_total)")
		return err == nil && after == before+1
	}) {
		return fmt.Errorf("Prometheus did not see the walk: walks_started_total %g -> %g (%v)", before, after, err)
	}
	fmt.Fprintf(s.opts.out, "ok  Prometheus scraped the new walk through nginx: walks_started_total %g -> %g\n", before, after)
	return s.verifyObservability(ctx)
}

// query is the value of an instant query.
func (s *stack) query(ctx context.Context, expr string) (float64, error) {
	return promapi.Value(ctx, s.promAPI, expr)
}
