package charts_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/otlprecv"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// TestTracingThroughNginx renders the chart with tracing on, runs its
// nginx in front of the app, and starts a walk through nginx as a traced
// client would (with a traceparent). The trace reaches the collector, a
// small OTLP/HTTP receiver in the test (the one seam we write ourselves),
// and its id is in the app's access log, in nginx's, and on the exemplars
// of /metrics read through nginx in the OpenMetrics format.
func TestTracingThroughNginx(t *testing.T) {
	recv, err := otlprecv.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	p := startPod(t, nil, []string{"OTEL_BSP_SCHEDULE_DELAY=100"},
		"--set", "tracing.enabled=true,tracing.endpoint="+recv.URL)

	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	traceparent := "00-" + traceID + "-" + parentID + "-01"
	header := http.Header{"Traceparent": {traceparent}, "Tracestate": {"walker=test"}}
	if err := testtool.TracedWalk(p.base, header); err != nil {
		t.Fatalf("through nginx: %v", err)
	}

	span, ok := recv.WaitFor(15*time.Second, func(s otlprecv.Span) bool {
		return s.TraceID == traceID && s.Name == "POST /api/walks"
	})
	if !ok {
		t.Fatalf("the receiver has no span POST /api/walks of trace %s; it has %+v", traceID, recv.Spans())
	}
	if span.ParentSpanID != parentID || span.Service != "walker" {
		t.Errorf("span %+v: want the child of the client's span %s, service walker", span, parentID)
	}
	if _, ok := recv.WaitFor(5*time.Second, func(s otlprecv.Span) bool {
		return s.ParentSpanID == span.SpanID && s.Name == "INSERT walks"
	}); !ok {
		t.Errorf("no INSERT walks statement span under the request; trace: %+v", recv.Trace(traceID))
	}

	// The app's access log line of the walk carries the trace id.
	if !poll.Until(5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(p.root, "walker.log"))
		return testtool.LogHasTrace(b, "/api/walks", traceID)
	}) {
		b, _ := os.ReadFile(filepath.Join(p.root, "walker.log"))
		t.Errorf("no access log line of POST /api/walks with trace_id %s:\n%s", traceID, b)
	}
	// nginx logs the traceparent it passed on (its log is buffered: 1s).
	if !poll.Until(5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(p.root, "nginx.log"))
		return bytes.Contains(b, []byte(`"uri":"/api/walks"`)) && bytes.Contains(b, []byte(`"traceparent":"`+traceparent+`"`))
	}) {
		b, _ := os.ReadFile(filepath.Join(p.root, "nginx.log"))
		t.Errorf("nginx's access log lacks the traceparent of POST /api/walks:\n%s", b)
	}

	// Exemplars, as Prometheus reads them: OpenMetrics through nginx.
	body, err := testtool.OpenMetrics(p.base+"/metrics", "prometheus", podPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `walks_started_total 1.0 # {trace_id="`+traceID+`"} 1.0`) {
		t.Errorf("no exemplar with trace %s on walks_started_total:\n%s", traceID, testtool.Grep(body, "walks_started"))
	}
	if !regexp.MustCompile(`http_request_duration_seconds_bucket\{method="POST",route="/api/walks",le="[^"]+"\} 1 # \{trace_id="` + traceID + `"\}`).MatchString(body) {
		t.Errorf("no exemplar with trace %s on http_request_duration_seconds of POST /api/walks:\n%s", traceID, testtool.Grep(body, `route="/api/walks"`))
	}
}
