package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/walkerhq/walker/internal/otlprecv"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/promapi"
	"github.com/walkerhq/walker/internal/testtool"
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
	if err := t.client().lifecycle(ctx); err != nil {
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

// verifyObservability checks what Prometheus 3 and tracing add: the
// native histograms next to the classic buckets, and one traced walk
// started through nginx followed to its trace id in the collector, the
// app's log, /metrics and Prometheus's exemplars.
func (s *stack) verifyObservability(ctx context.Context) error {
	if err := s.verifyNativeHistograms(ctx); err != nil {
		return err
	}
	if s.otlp == nil {
		fmt.Fprintln(s.opts.out, "--  tracing off (--tracing=false): trace checks skipped")
		return nil
	}
	return s.verifyTracedWalk(ctx)
}

// verifyNativeHistograms: the latency quantile comes from the native
// series, and the classic _bucket series the rules read are still there.
func (s *stack) verifyNativeHistograms(ctx context.Context) error {
	const quantile = `histogram_quantile(0.99, sum(rate(http_request_duration_seconds[1m])))`
	var p99 float64
	var err error
	// rate() needs two scrapes of the series (5s apart here).
	if !poll.Until(45*time.Second, func() bool {
		p99, err = s.query(ctx, quantile)
		return err == nil && !math.IsNaN(p99) && p99 > 0
	}) {
		return fmt.Errorf("Prometheus did not answer %s from native histograms: %v (%g)", quantile, err, p99)
	}
	// histogram_count ignores the float series: it counts the native ones.
	native, err := s.query(ctx, `count(histogram_count(http_request_duration_seconds))`)
	if err != nil || native == 0 {
		return fmt.Errorf("no native http_request_duration_seconds series in Prometheus (%v)", err)
	}
	fmt.Fprintf(s.opts.out, "ok  native histograms: %s = %.4fs from %g native series\n", quantile, p99, native)
	classic, err := s.query(ctx, `count(http_request_duration_seconds_bucket)`)
	if err != nil || classic == 0 {
		return fmt.Errorf("the classic http_request_duration_seconds_bucket series are gone (%v)", err)
	}
	fmt.Fprintf(s.opts.out, "ok  classic buckets still scraped: %g http_request_duration_seconds_bucket series\n", classic)
	return nil
}

// verifyTracedWalk starts a walk through nginx as a traced client does
// and finds its trace id everywhere a person following a slow walk looks.
func (s *stack) verifyTracedWalk(ctx context.Context) error {
	out := s.opts.out
	traceID, parentID := testtool.RandomHex(16), testtool.RandomHex(8)
	header := http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}}
	if err := testtool.TracedWalk(s.appURL(), header); err != nil {
		return fmt.Errorf("traced walk through nginx: %w", err)
	}

	span, ok := s.otlp.WaitFor(15*time.Second, func(sp otlprecv.Span) bool {
		return sp.TraceID == traceID && sp.Name == "POST /api/walks"
	})
	if !ok || span.ParentSpanID != parentID {
		return fmt.Errorf("the collector has no span POST /api/walks in trace %s under the client's span (%+v)", traceID, s.otlp.Trace(traceID))
	}
	fmt.Fprintf(out, "ok  trace %s: span %q in the OTLP receiver, %d spans in the trace\n", traceID, span.Name, len(s.otlp.Trace(traceID)))

	if !poll.Until(5*time.Second, func() bool {
		b, _ := os.ReadFile(s.app.Log)
		return testtool.LogHasTrace(b, "/api/walks", traceID)
	}) {
		return fmt.Errorf("the app's access log has no line of POST /api/walks with trace_id %s", traceID)
	}
	fmt.Fprintln(out, "ok  the app's access log line of the walk carries its trace_id")

	metrics, err := testtool.OpenMetrics(s.appURL()+"/metrics", s.username, s.password)
	if err != nil {
		return err
	}
	for _, re := range []string{
		`walks_started_total [0-9.]+ # \{trace_id="` + traceID + `"\}`,
		`http_request_duration_seconds_bucket\{method="POST",route="/api/walks",le="[^"]+"\} [0-9.]+ # \{trace_id="` + traceID + `"\}`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			return fmt.Errorf("/metrics (OpenMetrics, through nginx) has no exemplar matching %s", re)
		}
	}
	fmt.Fprintln(out, "ok  /metrics (OpenMetrics, through nginx) has the trace id as exemplar on walks_started_total and http_request_duration_seconds")

	for _, metric := range []string{"walks_started_total", "http_request_duration_seconds"} {
		var found bool
		if !poll.Until(30*time.Second, func() bool {
			found, err = s.hasExemplar(ctx, metric, traceID)
			return found
		}) {
			return fmt.Errorf("Prometheus's /api/v1/query_exemplars has no exemplar of %s with trace_id %s (%v)", metric, traceID, err)
		}
	}
	fmt.Fprintln(out, "ok  Prometheus stored the exemplars: query_exemplars finds the trace id on walks_started_total and http_request_duration_seconds")
	return nil
}

// hasExemplar asks Prometheus for the exemplars of metric over the last
// minutes and looks for traceID.
func (s *stack) hasExemplar(ctx context.Context, metric, traceID string) (bool, error) {
	now := time.Now()
	series, err := s.promAPI.QueryExemplars(ctx, metric, now.Add(-10*time.Minute), now.Add(time.Minute))
	if err != nil {
		return false, err
	}
	for _, sr := range series {
		for _, e := range sr.Exemplars {
			if string(e.Labels["trace_id"]) == traceID {
				return true, nil
			}
		}
	}
	return false, nil
}
