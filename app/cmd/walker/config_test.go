package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	// Each case's config is the defaults with its change.
	defaults := config{
		Addr: ":8000", MetricsAddr: "127.0.0.1:9000", SQLitePath: "walker.db", Migrate: true, LogLevel: slog.LevelInfo,
		DBTimeout: 5 * time.Second, ShutdownTimeout: 20 * time.Second, HTTPMetrics: true, MaxBodyBytes: 64 << 10,
	}
	tests := []struct {
		name    string
		cmd     string
		env     map[string]string
		args    []string
		change  func(c *config)
		wantErr string
	}{
		{name: "defaults keep metrics on localhost, use SQLite and trace nothing", cmd: "serve"},
		{
			name:   "an OTLP endpoint turns tracing on",
			cmd:    "serve",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"},
			change: func(c *config) { c.Tracing = true },
		},
		{
			name: "OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none keep it off",
			cmd:  "serve",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces", "OTEL_SDK_DISABLED": "true"},
		},
		{
			name: "Django-style DB_* settings build an escaped URL",
			cmd:  "migrate",
			env:  map[string]string{"DB_NAME": "walks", "DB_USER": "app", "DB_PASSWORD": "p@ss/w:rd", "DB_HOST": "db.internal", "DB_PORT": "6543"},
			change: func(c *config) {
				c.DatabaseURL = "postgres://app:p%40ss%2Fw%3Ard@db.internal:6543/walks?sslmode=prefer"
			},
		},
		{
			name:   "DATABASE_URL wins over DB_*",
			cmd:    "serve",
			env:    map[string]string{"DATABASE_URL": "postgres://u@h/d", "DB_NAME": "other"},
			change: func(c *config) { c.DatabaseURL = "postgres://u@h/d" },
		},
		{
			name: "flags override the environment",
			cmd:  "serve",
			env:  map[string]string{"WALKER_ADDR": ":1", "WALKER_MIGRATE": "true"},
			args: []string{"--addr", "127.0.0.1:8080", "--migrate=false", "--log-level", "debug", "--shutdown-timeout", "3s"},
			change: func(c *config) {
				c.Addr, c.Migrate, c.LogLevel, c.ShutdownTimeout = "127.0.0.1:8080", false, slog.LevelDebug, 3*time.Second
			},
		},
		{name: "malformed boolean is an error, not the default", cmd: "serve", env: map[string]string{"WALKER_MIGRATE": "yes please"}, wantErr: "WALKER_MIGRATE"},
		{name: "malformed duration", cmd: "serve", env: map[string]string{"WALKER_DB_TIMEOUT": "5"}, wantErr: "WALKER_DB_TIMEOUT"},
		{name: "negative timeout", cmd: "serve", args: []string{"--db-timeout", "-1s"}, wantErr: "positive"},
		{name: "unknown log level", cmd: "serve", args: []string{"--log-level", "loud"}, wantErr: `WALKER_LOG_LEVEL (--log-level) "loud"`},
		{name: "malformed log level", cmd: "serve", env: map[string]string{"WALKER_LOG_LEVEL": "verbose"}, wantErr: `WALKER_LOG_LEVEL (--log-level) "verbose"`},
		{name: "serve-only flag on migrate", cmd: "migrate", args: []string{"--addr", ":1"}, wantErr: "flag provided but not defined"},
		{name: "stray argument", cmd: "demo", args: []string{"extra"}, wantErr: "unexpected argument"},
		{name: "OTLP over gRPC is refused, not ignored", cmd: "serve", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "endpoint that is not a URL", cmd: "serve", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel-collector:4318"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "exporter walker lacks", cmd: "serve", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
		{name: "short secret key", cmd: "serve", env: map[string]string{"WALKER_SECRET_KEY": "short"}, wantErr: "at least 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			c, err := loadConfig(tt.cmd, tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			if tt.change != nil {
				tt.change(&want)
			}
			if c != want {
				t.Errorf("config = %+v\nwant     %+v", c, want)
			}
		})
	}
}
