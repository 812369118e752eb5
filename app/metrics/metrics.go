// Package metrics builds the Prometheus registry and the application-level
// metrics: the walk counters the Django original exposed and the HTTP
// instrumentation. The registry is made in main and passed in; nothing here
// registers on the global default registry.
package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// Walks are the custom metrics of the original app, with its names: the
// Python client appended _total to counters, so ours carry it explicitly.
type Walks struct {
	started   prometheus.Counter
	completed prometheus.Counter
	invalid   prometheus.Counter
	distance  prometheus.Histogram
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

// Started counts a walk that was stored.
func (w *Walks) Started() { w.started.Inc() }

// Completed counts a walk that was completed and observes its distance.
func (w *Walks) Completed(meters int) {
	w.completed.Inc()
	w.distance.Observe(float64(meters))
}

// Invalid counts a start attempt rejected by validation.
func (w *Walks) Invalid() { w.invalid.Inc() }
