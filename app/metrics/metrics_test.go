package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/trace"

	"github.com/walkerhq/walker/app/internal/metrictest"
)

// traced is a context in the span of a trace, sampled or not.
func traced(sampled bool) context.Context {
	cfg := trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg))
}

const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// TestNativeHistogramsBesideClassicBuckets: the latency and size histograms
// have both kinds of buckets; walk_distance keeps the original's classic
// buckets only.
func TestNativeHistogramsBesideClassicBuckets(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := NewHTTP(reg)
	w := NewWalks(reg)
	h.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "/walks/start/")
		w.Write([]byte("ok"))
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/walks/start/", nil))
	w.Completed(context.Background(), 420)

	for _, name := range []string{"http_request_duration_seconds", "http_request_size_bytes", "http_response_size_bytes"} {
		hist := metrictest.One(t, reg, name, nil).GetHistogram()
		if hist.Schema == nil || hist.GetSchema() != 3 {
			t.Errorf("%s: native schema %v, want 3 (bucket factor 1.1)", name, hist.Schema)
		}
		if len(hist.GetBucket()) < 10 {
			t.Errorf("%s: %d classic buckets, want them kept", name, len(hist.GetBucket()))
		}
	}
	dist := metrictest.One(t, reg, "walk_distance", nil).GetHistogram()
	if dist.Schema != nil || len(dist.GetPositiveSpan()) > 0 {
		t.Errorf("walk_distance has native buckets (schema %v); it stays classic", dist.Schema)
	}
	var les []float64
	for _, b := range dist.GetBucket() {
		les = append(les, b.GetUpperBound())
	}
	if len(les) != len(DistanceBuckets) || les[2] != 200 || dist.GetSampleSum() != 420 {
		t.Errorf("walk_distance buckets %v sum %v, want the original's %v", les, dist.GetSampleSum(), DistanceBuckets)
	}
}

// TestTraceExemplars: with exemplars on, a sampled trace's id lands on the
// walk counters, the distance and the request duration; an unsampled trace
// and exemplars off leave none.
func TestTraceExemplars(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		on, sampled, any bool
	}{
		{"on, sampled", true, true, true},
		{"on, not sampled", true, false, false},
		{"off, sampled", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			h, w := NewHTTP(reg), NewWalks(reg)
			if tc.on {
				h.TraceExemplars()
				w.TraceExemplars()
			}
			ctx := traced(tc.sampled)
			w.Started(ctx)
			w.Completed(ctx, 800)
			h.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
				ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(ctx))

			for _, name := range []string{"walks_started_total", "walks_completed_total", "walk_distance", "http_request_duration_seconds"} {
				m := metrictest.One(t, reg, name, nil)
				exemplars := []*dto.Exemplar{m.GetCounter().GetExemplar()}
				for _, b := range m.GetHistogram().GetBucket() {
					exemplars = append(exemplars, b.GetExemplar())
				}
				got := ""
				for _, e := range exemplars {
					for _, l := range e.GetLabel() {
						if l.GetName() == "trace_id" {
							got = l.GetValue()
						}
					}
				}
				switch {
				case tc.any && got != traceID:
					t.Errorf("%s: exemplar trace_id %q, want %s", name, got, traceID)
				case !tc.any && got != "":
					t.Errorf("%s: exemplar %q, want none", name, got)
				}
			}
		})
	}
}

// TestOpenMetricsServesExemplars: the handler negotiates OpenMetrics, the
// format that carries exemplars in text.
func TestOpenMetricsServesExemplars(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	w := NewWalks(reg)
	w.TraceExemplars()
	w.Started(traced(true))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	Handler(reg, nil).ServeHTTP(rec, req)
	if body := rec.Body.String(); !strings.Contains(body, `walks_started_total 1.0 # {trace_id="`+traceID+`"} 1.0`) {
		t.Errorf("no exemplar on walks_started_total:\n%s", body)
	}
	rec = httptest.NewRecorder()
	Handler(reg, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); strings.Contains(body, "trace_id") || !strings.Contains(body, "walks_started_total 1\n") {
		t.Errorf("the classic text format changed:\n%s", body)
	}
}
