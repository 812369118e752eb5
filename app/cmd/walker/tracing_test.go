package main

import (
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/otlprecv"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// openMetrics reads /metrics as Prometheus asks for exemplars: OpenMetrics.
func openMetrics(t *testing.T, addr string) string {
	t.Helper()
	body, err := testtool.OpenMetrics("http://"+addr+"/metrics", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// goroutinesOf reports the goroutines whose stack mentions pkg.
func goroutinesOf(pkg string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, pkg) {
			out = append(out, g)
		}
	}
	return out
}

const otelSDK = "go.opentelemetry.io/otel/sdk"

// TestTracingOffCostsNothing: without OTEL_* variables there is no tracing
// goroutine, no trace id in the log and no exemplar, even for a request
// that carries a sampled traceparent.
func TestTracingOffCostsNothing(t *testing.T) {
	s := startServe(t, nil)
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	if err := testtool.TracedWalk("http://"+s.public, h); err != nil {
		t.Fatal(err)
	}
	if g := goroutinesOf(otelSDK); len(g) > 0 {
		t.Errorf("tracing off, yet OpenTelemetry SDK goroutines run:\n%s", strings.Join(g, "\n\n"))
	}
	if body := openMetrics(t, s.metrics); strings.Contains(body, "trace_id") {
		t.Errorf("exemplars without tracing:\n%s", testtool.Grep(body, "trace_id"))
	}
	// serve writes its log in batches: the last request's line first.
	if !poll.Until(5*time.Second, func() bool { return strings.Contains(s.logs.String(), `"route":"/api/walks"`) }) {
		t.Fatalf("no access log line of POST /api/walks:\n%s", s.logs)
	}
	if strings.Contains(s.logs.String(), "trace_id") {
		t.Errorf("trace ids logged without tracing:\n%s", s.logs)
	}
}

var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestTracingOn: with an OTLP endpoint (a receiver in the test, the seam
// we write ourselves), a request that carries a sampled traceparent is a
// server span in that trace named after its route, its statements are
// child spans, and the trace id is in the access log and on the exemplars
// of the request duration and the walk counter.
func TestTracingOn(t *testing.T) {
	recv, err := otlprecv.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	// The SDK reads the process environment; so does the app's config here.
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": recv.URL,
		"OTEL_SERVICE_NAME":           "walker-test",
		"OTEL_BSP_SCHEDULE_DELAY":     "100", // milliseconds between batches
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	s := startServe(t, env)
	if g := goroutinesOf(otelSDK); len(g) == 0 {
		t.Error("tracing on, yet no OpenTelemetry SDK goroutine: the goroutine check of TestTracingOffCostsNothing would prove nothing")
	}
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID := traceparent.FindStringSubmatch(parent)[1]
	if err := testtool.TracedWalk("http://"+s.public, http.Header{"Traceparent": {parent}}); err != nil {
		t.Fatal(err)
	}

	server, ok := recv.WaitFor(10*time.Second, func(sp otlprecv.Span) bool {
		return sp.TraceID == traceID && sp.Name == "POST /api/walks"
	})
	if !ok {
		t.Fatalf("no span POST /api/walks in trace %s; received: %+v", traceID, recv.Spans())
	}
	if server.ParentSpanID != "00f067aa0ba902b7" || server.Kind != "SPAN_KIND_SERVER" || server.Service != "walker-test" {
		t.Errorf("server span = %+v, want the traceparent's child, kind server, service walker-test", server)
	}
	if server.Attributes["http.route"] != "/api/walks" || server.Attributes["http.response.status_code"] != "201" {
		t.Errorf("server span attributes = %v", server.Attributes)
	}
	insert, ok := recv.WaitFor(5*time.Second, func(sp otlprecv.Span) bool {
		return sp.ParentSpanID == server.SpanID && sp.Name == "INSERT walks"
	})
	if !ok {
		t.Errorf("no INSERT walks span under the request's span; trace: %+v", recv.Trace(traceID))
	} else if insert.Kind != "SPAN_KIND_CLIENT" || insert.Attributes["db.system.name"] != "sqlite" || !strings.HasPrefix(strings.ReplaceAll(insert.Attributes["db.query.text"], "`", ""), "INSERT INTO walks") {
		t.Errorf("statement span = %+v", insert)
	}

	// serve writes its log in batches: wait for the line.
	if !poll.Until(5*time.Second, func() bool { return testtool.LogHasTrace([]byte(s.logs.String()), "/api/walks", traceID) }) {
		t.Errorf("the access log line of POST /api/walks lacks trace_id %s:\n%s", traceID, s.logs)
	}

	body := openMetrics(t, s.metrics)
	for _, want := range []string{
		`walks_started_total 1.0 # {trace_id="` + traceID + `"} 1.0`,
		`http_request_duration_seconds_bucket{method="POST",route="/api/walks",le=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("OpenMetrics /metrics lacks %q:\n%s", want, testtool.Grep(body, "walks_started_total"))
		}
	}
	if !regexp.MustCompile(`http_request_duration_seconds_bucket\{method="POST",route="/api/walks",le="[^"]+"\} 1 # \{trace_id="` + traceID + `"\}`).MatchString(body) {
		t.Errorf("no exemplar with the trace id on http_request_duration_seconds of POST /api/walks:\n%s",
			testtool.Grep(body, `route="/api/walks"`))
	}
	if !regexp.MustCompile(`db_query_duration_seconds_bucket\{alias="default",operation="create",vendor="sqlite",le="[^"]+"\} [0-9]+ # \{trace_id="` + traceID + `"\}`).MatchString(body) {
		t.Errorf("no exemplar with the trace id on db_query_duration_seconds of the INSERT:\n%s",
			testtool.Grep(body, `db_query_duration_seconds_bucket{alias="default",operation="create"`))
	}
}
