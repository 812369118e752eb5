// Package otlprecv is a small OTLP/HTTP trace receiver for the tests and
// the local stack: it stands where an OpenTelemetry Collector (or Tempo,
// Jaeger...) would, keeps the spans it is sent, and lets the caller look
// for them.
//
// It is the one seam we write ourselves instead of running the real thing:
// no collector is packaged for this machine, and what we check is what the
// app sends on the wire, decoded with the OTLP protobuf definitions.
package otlprecv

import (
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/walkerhq/walker/internal/poll"
)

// Span is what the tests look at in a received span.
type Span struct {
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id,omitempty"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`    // SPAN_KIND_SERVER, SPAN_KIND_CLIENT...
	Service      string            `json:"service"` // the resource's service.name
	Attributes   map[string]string `json:"attributes"`
	StatusError  bool              `json:"error,omitempty"`
}

// Receiver listens on loopback for OTLP/HTTP protobuf exports.
type Receiver struct {
	// URL is the base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string
	srv *http.Server

	mu    sync.Mutex
	spans []Span
	log   io.Writer
}

// Start listens on a free loopback port until Close. With a log, every
// span received is also written to it as a JSON line.
func Start(log io.Writer) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String(), log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Close stops listening.
func (r *Receiver) Close() error { return r.srv.Close() }

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "want application/x-protobuf, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(io.LimitReader(body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// ExportTraceServiceRequest and TracesData are the same message on the
	// wire (field 1: repeated ResourceSpans).
	var data tracepb.TracesData
	if err := proto.Unmarshal(raw, &data); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range data.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					attrs[kv.GetKey()] = valueString(kv.GetValue())
				}
				got = append(got, Span{
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Name:         s.GetName(), Kind: s.GetKind().String(), Service: service, Attributes: attrs,
					StatusError: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
				})
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	if r.log != nil {
		enc := json.NewEncoder(r.log)
		for _, s := range got {
			enc.Encode(s)
		}
	}
	r.mu.Unlock()
	// An empty ExportTraceServiceResponse: everything accepted.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// valueString renders the attribute types walker sets.
func valueString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	}
	return v.String()
}

// Spans is every span received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Trace is the spans received so far of one trace.
func (r *Receiver) Trace(traceID string) []Span {
	var out []Span
	for _, s := range r.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// WaitFor waits up to d for a span that match accepts (the SDK sends in
// batches, every few seconds by default).
func (r *Receiver) WaitFor(d time.Duration, match func(Span) bool) (Span, bool) {
	var found Span
	ok := poll.Until(d, func() bool {
		for _, s := range r.Spans() {
			if match(s) {
				found = s
				return true
			}
		}
		return false
	})
	return found, ok
}
