package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/walkerhq/walker/app/internal/syncbuf"
)

func TestLogWriterWritesWarningsAtOnceAndTheRestOnClose(t *testing.T) {
	var out syncbuf.Buffer
	w := newLogWriter(&out)
	logger := slog.New(flushingHandler{slog.NewJSONHandler(w, nil), w}).With("version", "test")
	for range 3 {
		logger.Info("request", "status", 200)
	}
	logger.Warn("slow statement")
	// The warning, and the lines before it, are out before Warn returns.
	if got := out.String(); strings.Count(got, `"msg":"request"`) != 3 || !strings.Contains(got, `"msg":"slow statement","version":"test"`) {
		t.Errorf("after a warning the output is:\n%s", got)
	}
	logger.Info("request", "status", 302)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, `"status":302`) {
		t.Errorf("Close lost a line:\n%s", got)
	}
}
