package metrics

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of requests no route matched (404s, and the
// trailing-slash redirects gin answers before any middleware runs): one value
// for all of them keeps the label's cardinality bounded.
const Unmatched = "unmatched"

// HTTP instruments requests at the net/http level, around the whole gin
// engine, so that every response is counted, also the ones gin writes
// without running its middleware. The route comes from gin (c.FullPath())
// through a holder the wrapper puts in the request context.
type HTTP struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	reqSize   *prometheus.HistogramVec
	respSize  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	panics    *prometheus.CounterVec
	templates *prometheus.CounterVec
	exemplars exemplars
}

// NewHTTP registers the HTTP metrics on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	sizes := prometheus.ExponentialBuckets(64, 4, 10) // 64 B .. 16 MiB
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(WithNativeBuckets(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer HTTP requests, by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10, 25, 50, 75},
		}), []string{"method", "route"}),
		reqSize: prometheus.NewHistogramVec(WithNativeBuckets(prometheus.HistogramOpts{
			Name: "http_request_size_bytes", Help: "Size of request bodies, by method and route template.", Buckets: sizes,
		}), []string{"method", "route"}),
		respSize: prometheus.NewHistogramVec(WithNativeBuckets(prometheus.HistogramOpts{
			Name: "http_response_size_bytes", Help: "Size of response bodies, by method and route template.", Buckets: sizes,
		}), []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight", Help: "HTTP requests being answered.",
		}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_panics_total", Help: "Handler panics recovered (answered with 500), by route template.",
		}, []string{"route"}),
		templates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_template_renders_total", Help: "HTML templates rendered, by template.",
		}, []string{"template"}),
	}
	reg.MustRegister(h.requests, h.duration, h.reqSize, h.respSize, h.inFlight, h.panics, h.templates)
	return h
}

type routeKey struct{}

// routeHolder is where the router writes the matched route template.
type routeHolder struct{ route string }

// SetRoute records the route template of the request being served; the
// router calls it once it has matched (gin: c.FullPath()). Without the
// instrumentation wrapper it does nothing.
func SetRoute(ctx context.Context, route string) {
	if h, ok := ctx.Value(routeKey{}).(*routeHolder); ok && route != "" {
		h.route = route
	}
}

// Routes pre-creates the per-route panic counters at zero, so that the
// series exist (and rate() works) before the first panic.
func (h *HTTP) Routes(routes []string) {
	for _, r := range routes {
		h.panics.WithLabelValues(r)
	}
}

// Panicked counts a recovered panic of route.
func (h *HTTP) Panicked(route string) {
	if route == "" {
		route = Unmatched
	}
	h.panics.WithLabelValues(route).Inc()
}

// Rendered counts a template render.
func (h *HTTP) Rendered(template string) { h.templates.WithLabelValues(template).Inc() }

// TraceExemplars makes the request duration of sampled traces carry their
// trace id as exemplar (the wrapper must run inside the tracing one).
func (h *HTTP) TraceExemplars() { h.exemplars = true }

// Wrap instruments next.
func (h *HTTP) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.inFlight.Inc()
		defer h.inFlight.Dec()
		holder := &routeHolder{route: Unmatched}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, holder))
		rec := NewRecorder(w)
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		defer func() {
			method := Method(r.Method)
			h.requests.WithLabelValues(method, holder.route, strconv.Itoa(rec.Status)).Inc()
			Observe(h.duration.WithLabelValues(method, holder.route), time.Since(start).Seconds(), h.exemplars.of(r.Context()))
			size := max(body.n, r.ContentLength) // the declared length of a body the handler did not read
			h.reqSize.WithLabelValues(method, holder.route).Observe(float64(size))
			h.respSize.WithLabelValues(method, holder.route).Observe(float64(rec.Written))
		}()
		next.ServeHTTP(rec, r)
	})
}

// Method bounds the method label: the standard methods as sent (upper
// case, as the original's), anything else "OTHER".
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// Recorder is a ResponseWriter that remembers the status and counts the
// body bytes written (for the metrics and the request's span).
type Recorder struct {
	http.ResponseWriter
	Status      int
	Written     int64
	wroteHeader bool
}

func NewRecorder(w http.ResponseWriter) *Recorder {
	return &Recorder{ResponseWriter: w, Status: http.StatusOK}
}

func (r *Recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.Status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.Written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines).
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
