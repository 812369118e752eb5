// Package metrics builds the Prometheus registry and the application-level
// metrics: the walk counters the Django original exposed and the HTTP
// instrumentation. The registry is made in main and passed in; nothing here
// registers on the global default registry.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves reg in the text or OpenMetrics format, whichever the
// scraper asks for, and counts its own scrapes.
func Handler(reg *prometheus.Registry, logger *slog.Logger) http.Handler {
	opts := promhttp.HandlerOpts{
		EnableOpenMetrics:   true,
		Registry:            reg,
		MaxRequestsInFlight: 4,
	}
	if logger != nil {
		opts.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelError)
	}
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, opts))
}

// WithNativeBuckets adds native buckets to the latency and size
// histograms' opts, which keep their classic ones: a Prometheus that
// scrapes native histograms gets buckets 9% apart (schema 3) at any scale,
// the others the classic buckets as before (the text exposition and every
// query of the _bucket series stay as they were). At most 100 buckets per
// series, and a reset at most hourly when that is reached: a bounded
// scrape whatever the spread of values.
func WithNativeBuckets(opts prometheus.HistogramOpts) prometheus.HistogramOpts {
	opts.NativeHistogramBucketFactor = 1.1
	opts.NativeHistogramMaxBucketNumber = 100
	opts.NativeHistogramMinResetDuration = time.Hour
	return opts
}

// TraceExemplar is the exemplar of an observation made in the span sc of a
// sampled trace ({trace_id="..."}), nil otherwise: an exemplar should lead
// to a trace that the tracing backend has.
func TraceExemplar(sc trace.SpanContext) prometheus.Labels {
	if !sc.IsSampled() {
		return nil
	}
	return prometheus.Labels{"trace_id": sc.TraceID().String()}
}

// Observe observes v, with the exemplar ex unless it is nil.
func Observe(o prometheus.Observer, v float64, ex prometheus.Labels) {
	if ex == nil {
		o.Observe(v)
		return
	}
	o.(prometheus.ExemplarObserver).ObserveWithExemplar(v, ex)
}

// inc adds one to c, with the exemplar ex unless it is nil.
func inc(c prometheus.Counter, ex prometheus.Labels) {
	if ex == nil {
		c.Inc()
		return
	}
	c.(prometheus.ExemplarAdder).AddWithExemplar(1, ex)
}

// exemplars is whether observations carry the trace id of their request's
// sampled trace: off without tracing, so that nothing looks for a trace.
type exemplars bool

// of is the exemplar of an observation made in ctx, nil when off.
func (on exemplars) of(ctx context.Context) prometheus.Labels {
	if !on {
		return nil
	}
	return TraceExemplar(trace.SpanContextFromContext(ctx))
}

// Walks are the custom metrics of the original app, with its names: the
// Python client appended _total to counters, so ours carry it explicitly.
type Walks struct {
	started   prometheus.Counter
	completed prometheus.Counter
	invalid   prometheus.Counter
	distance  prometheus.Histogram
	exemplars exemplars
}

// DistanceBuckets are the original's walk_distance buckets, in meters.
var DistanceBuckets = []float64{0, 50, 200, 400, 800, 1600, 3200}

// NewWalks registers the walk metrics on reg.
func NewWalks(reg prometheus.Registerer) *Walks {
	w := &Walks{
		started:   prometheus.NewCounter(prometheus.CounterOpts{Name: "walks_started_total", Help: "Walks started."}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{Name: "walks_completed_total", Help: "Walks completed."}),
		invalid:   prometheus.NewCounter(prometheus.CounterOpts{Name: "invalid_walks_total", Help: "Attempts to start a walk that failed validation."}),
		distance: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walk_distance", Help: "Distance of completed walks, in meters.", Buckets: DistanceBuckets}),
	}
	reg.MustRegister(w.started, w.completed, w.invalid, w.distance)
	return w
}

// TraceExemplars makes the walks of sampled traces carry their trace id as
// exemplar.
func (w *Walks) TraceExemplars() { w.exemplars = true }

// Started counts a walk that was stored by the request of ctx.
func (w *Walks) Started(ctx context.Context) { inc(w.started, w.exemplars.of(ctx)) }

// Completed counts a walk that was completed by the request of ctx and
// observes its distance.
func (w *Walks) Completed(ctx context.Context, meters int) {
	ex := w.exemplars.of(ctx)
	inc(w.completed, ex)
	Observe(w.distance, float64(meters), ex)
}

// Invalid counts a start attempt rejected by validation.
func (w *Walks) Invalid() { w.invalid.Inc() }
