package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/walkerhq/walker/app/metrics"
)

// Wrap gives every request a server span, child of the trace context the
// request carries (traceparent, tracestate, baggage), and puts it in the
// request's context. The span is named by its method until the router says
// which route matched (SetRoute).
func (t *Tracing) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		method := spanMethod(r.Method)
		ctx, span := t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(method),
				semconv.URLPath(r.URL.Path),
				semconv.URLScheme(scheme(r)),
				semconv.ServerAddress(r.Host),
				semconv.UserAgentOriginal(r.UserAgent()),
			))
		defer span.End()
		rec := metrics.NewRecorder(w)
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(rec.Status))
		if rec.Status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.Status))
		}
	})
}

// SetRoute names the request's span after its route template ("GET
// /walks/:id/complete/", the HTTP semantic conventions' {method} {route}):
// one name per route, never per id. Without a recording span it does nothing.
func SetRoute(r *http.Request, route string) {
	span := trace.SpanFromContext(r.Context())
	if route == "" || !span.IsRecording() {
		return
	}
	span.SetName(spanMethod(r.Method) + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route))
}

// spanMethod bounds the method as the conventions ask: the known methods
// (those of the metrics' label), anything else _OTHER.
func spanMethod(m string) string {
	if m = metrics.Method(m); m == "OTHER" {
		return "_OTHER"
	}
	return m
}

// scheme is the scheme the client used: nginx passes it on.
func scheme(r *http.Request) string {
	if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		return p
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
