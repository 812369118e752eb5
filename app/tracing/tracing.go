// Package tracing is walker's OpenTelemetry edge: opt-in tracing configured
// by the standard OTEL_* variables, a server span per HTTP request named
// after its route template, and the W3C trace context taken from the
// request (nginx forwards traceparent and tracestate).
//
// Tracing is off unless the environment names an OTLP endpoint (or sets
// OTEL_TRACES_EXPORTER=otlp): then main makes no Tracing at all, so there is
// no exporter, no goroutine, and the callers skip their tracing code.
//
// Enabled decides from the variables main reads; New hands the rest to the
// SDK, which reads them (endpoint, headers, sampler, batching, service name
// and resource attributes) from the process environment itself.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is the configured tracer provider and the propagator of the
// requests' trace context.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// instrumentation names walker's spans' origin (the OTel scope).
const instrumentation = "github.com/walkerhq/walker"

// Enabled reports whether the environment turns tracing on, or why its
// OTEL_* variables cannot be used. getenv is os.Getenv outside tests.
func Enabled(getenv func(string) string) (bool, error) {
	if v := strings.TrimSpace(getenv("OTEL_SDK_DISABLED")); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("OTEL_SDK_DISABLED=%q: want true or false", v)
		}
		if disabled {
			return false, nil
		}
	}
	exporter := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	switch exporter {
	case "", "otlp", "none":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: walker exports traces with otlp (or none)", exporter)
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		switch p := strings.TrimSpace(getenv(k)); p {
		case "", "http/protobuf", "http/json":
		default:
			return false, fmt.Errorf("%s=%q: walker sends OTLP over HTTP (http/protobuf or http/json)", k, p)
		}
	}
	endpoint := false
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		v := strings.TrimSpace(getenv(k))
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return false, fmt.Errorf("%s=%q: want an http:// or https:// URL such as http://otel-collector:4318", k, v)
		}
		endpoint = true
	}
	if exporter == "none" {
		return false, nil
	}
	// The spec's default exporter is otlp; walker's is off, so that an
	// image run without configuration sends nothing anywhere.
	return exporter == "otlp" || endpoint, nil
}

// New sets tracing up as the OTEL_* variables say (call it when Enabled).
// version becomes service.version; the service name is "walker" unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise. Errors of
// the exporter later on (a collector that is down) are logged, never fatal:
// tracing must not take the app down.
func New(ctx context.Context, version string, logger *slog.Logger) (*Tracing, error) {
	// The SDK reports malformed variables (a sampler it does not know, a
	// ratio out of range) through the global error handler and carries on
	// with defaults; collect them to refuse the configuration instead.
	var setup setupErrors
	otel.SetErrorHandler(&setup)
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("walker"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	if err := setup.err(); err != nil {
		provider.Shutdown(ctx)
		return nil, fmt.Errorf("tracing configuration: %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing", "error", err.Error())
	}))
	return &Tracing{
		provider:   provider,
		tracer:     provider.Tracer(instrumentation),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// Tracer is walker's tracer, for the store's statement spans.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Shutdown sends the spans still queued and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// setupErrors collects what the SDK reports while it is being built.
type setupErrors struct {
	mu   sync.Mutex
	errs []error
}

func (s *setupErrors) Handle(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *setupErrors) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// TraceID is the id of the trace ctx belongs to, "" outside a trace.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}
