package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/app/tracing"
)

// flagHelp reports that -h was asked for and the usage already printed.
var flagHelp = errors.New("help requested")

// config is everything the binary can be told, from the environment first
// and then from flags, so the chart can use env and a developer can use flags.
type config struct {
	Addr            string
	MetricsAddr     string
	DatabaseURL     string
	SQLitePath      string
	Migrate         bool
	SecretKey       string
	LogLevel        slog.Level
	DBTimeout       time.Duration
	DBWait          time.Duration
	ShutdownTimeout time.Duration
	HTTPMetrics     bool
	MaxBodyBytes    int64
	Pprof           bool
	// Tracing: the OTEL_* variables ask for it (the SDK reads the rest).
	Tracing bool
}

// loadConfig reads the environment (through getenv, so tests need not touch
// the process environment) and then the subcommand's flags.
func loadConfig(name string, args []string, getenv func(string) string, usage io.Writer) (config, error) {
	env := envReader{getenv: getenv}
	cfg := config{
		Addr:            env.str("WALKER_ADDR", ":8000"),
		MetricsAddr:     env.str("WALKER_METRICS_ADDR", "127.0.0.1:9000"),
		DatabaseURL:     getenv("DATABASE_URL"),
		SQLitePath:      env.str("WALKER_SQLITE_PATH", "walker.db"),
		Migrate:         env.boolean("WALKER_MIGRATE", true),
		SecretKey:       getenv("WALKER_SECRET_KEY"),
		DBTimeout:       env.duration("WALKER_DB_TIMEOUT", 5*time.Second),
		DBWait:          env.duration("WALKER_DB_WAIT", 0),
		ShutdownTimeout: env.duration("WALKER_SHUTDOWN_TIMEOUT", 20*time.Second),
		HTTPMetrics:     env.boolean("WALKER_HTTP_METRICS", true),
		MaxBodyBytes:    env.integer("WALKER_MAX_BODY_BYTES", 64<<10),
		Pprof:           env.boolean("WALKER_PPROF", false),
	}
	// The Django original was configured with DB_NAME, DB_USER, ... keep that
	// working; DATABASE_URL wins when both are given.
	if cfg.DatabaseURL == "" && (getenv("DB_NAME") != "" || getenv("DB_HOST") != "") {
		cfg.DatabaseURL = store.PostgresURL(
			env.str("DB_NAME", "walker"), getenv("DB_USER"), getenv("DB_PASSWORD"),
			env.str("DB_HOST", "localhost"), env.str("DB_PORT", "5432"), env.str("DB_SSLMODE", "prefer"))
	}
	levelText := env.str("WALKER_LOG_LEVEL", "info")
	if env.err != nil {
		return cfg, env.err
	}
	var err error
	if cfg.Tracing, err = tracing.Enabled(getenv); err != nil {
		return cfg, err
	}

	fs := flag.NewFlagSet("walker "+name, flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL (env DATABASE_URL); empty means the embedded SQLite file")
	fs.StringVar(&cfg.SQLitePath, "sqlite-path", cfg.SQLitePath, "SQLite file used when no PostgreSQL is configured, for local use only (env WALKER_SQLITE_PATH)")
	fs.StringVar(&levelText, "log-level", levelText, "debug, info, warn or error (env WALKER_LOG_LEVEL)")
	fs.DurationVar(&cfg.DBTimeout, "db-timeout", cfg.DBTimeout, "timeout of each database statement (env WALKER_DB_TIMEOUT)")
	fs.DurationVar(&cfg.DBWait, "db-wait", cfg.DBWait, "before migrating, how long to wait for the database to answer (env WALKER_DB_WAIT)")
	if name == "serve" {
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "public HTTP listener (env WALKER_ADDR)")
		fs.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "metrics listener, keep it on localhost behind the nginx sidecar (env WALKER_METRICS_ADDR)")
		fs.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply migrations before serving (env WALKER_MIGRATE)")
		fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long in-flight requests may finish after SIGTERM (env WALKER_SHUTDOWN_TIMEOUT)")
		fs.BoolVar(&cfg.HTTPMetrics, "http-metrics", cfg.HTTPMetrics, "instrument HTTP requests (env WALKER_HTTP_METRICS)")
		fs.BoolVar(&cfg.Pprof, "pprof", cfg.Pprof, "serve /debug/pprof/ on the metrics listener (env WALKER_PPROF)")
		fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted (env WALKER_MAX_BODY_BYTES)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, flagHelp
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(levelText)); err != nil {
		return cfg, fmt.Errorf("WALKER_LOG_LEVEL (--log-level) %q: want a log level: debug, info, warn or error", levelText)
	}
	if cfg.SecretKey != "" && len(cfg.SecretKey) < 16 {
		return cfg, fmt.Errorf("WALKER_SECRET_KEY must be at least 16 bytes (it signs the CSRF and flash cookies)")
	}
	if cfg.DBTimeout <= 0 || cfg.ShutdownTimeout <= 0 || cfg.MaxBodyBytes <= 0 {
		return cfg, fmt.Errorf("timeouts and body limit must be positive")
	}
	if cfg.DBWait < 0 {
		return cfg, fmt.Errorf("WALKER_DB_WAIT must not be negative")
	}
	return cfg, nil
}

// envReader collects the first malformed variable instead of silently using
// the default: a typo in a chart value should stop the pod, not be ignored.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (e *envReader) boolean(key string, def bool) bool {
	return parse(e, key, def, "true or false", func(v string) (bool, error) { return strconv.ParseBool(strings.TrimSpace(v)) })
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	return parse(e, key, def, "a duration such as 5s", time.ParseDuration)
}

func (e *envReader) integer(key string, def int64) int64 {
	return parse(e, key, def, "an integer", func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) })
}

// parse reads key with parseValue, def when it is unset; want says what a
// well-formed value is.
func parse[T any](e *envReader, key string, def T, want string, parseValue func(string) (T, error)) T {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	x, err := parseValue(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: want %s", key, v, want)
	}
	return x
}
