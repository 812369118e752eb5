// Command walker is the walker service: one binary with the subcommands the
// chart and developers need (serve, migrate, demo, version). It only wires
// the packages together; the behaviour lives in app/web, app/store and
// app/metrics.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkerhq/walker/app/metrics"
	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/app/tracing"
	"github.com/walkerhq/walker/app/web"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

const usage = `walker: the dog-walking service with Prometheus metrics.

Usage:
  walker serve    [flags]  serve the app and, on a separate listener, /metrics
  walker migrate  [flags]  apply the embedded database migrations and exit
  walker demo     [flags]  load demo walkers and dogs (idempotent) and exit
  walker version           print the version and commit

Run "walker <command> -h" for the flags; every flag has an environment variable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process globals, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, args := args[0], args[1:]
	switch name {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "walker %s (commit %s)\n", version, commit)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve", "migrate", "demo":
	default:
		fmt.Fprintf(stderr, "walker: unknown command %q\n\n%s", name, usage)
		return 2
	}

	cfg, err := loadConfig(name, args, getenv, stderr)
	if errors.Is(err, flagHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "walker %s: %v\n", name, err)
		return 2
	}
	var handler slog.Handler = slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	if name == "serve" {
		// One line per request: batched, not a write each.
		out := newLogWriter(stdout)
		defer out.Close()
		handler = flushingHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}), out}
	}
	logger := slog.New(handler).With("version", version)

	if name == "serve" {
		err = serve(ctx, cfg, logger)
	} else {
		err = migrate(ctx, cfg, logger, name == "demo")
	}
	if err != nil {
		logger.Error(name+" failed", "error", err.Error())
		return 1
	}
	return 0
}

// openStore opens the configured database, its metrics on reg, and
// applies the migrations when asked. tr (nil: tracing off) traces the
// statements of traced requests.
func openStore(ctx context.Context, cfg config, logger *slog.Logger, reg *prometheus.Registry, migrate bool, tr *tracing.Tracing) (*store.Store, error) {
	sc := store.Config{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath, StatementTimeout: cfg.DBTimeout, Logger: logger}
	if tr != nil {
		sc.Tracer = tr.Tracer()
	}
	st, err := store.Open(ctx, sc, reg)
	if err != nil {
		return nil, err
	}
	if migrate {
		err := waitForDatabase(ctx, st, cfg.DBWait, logger)
		if err == nil {
			err = st.Migrate(ctx)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// waitForDatabase pings the database until it answers or wait has passed:
// the chart's migrate init container may start before PostgreSQL, and
// waiting beats failing into the kubelet's growing restart back-off. With
// no wait, Migrate's own first statement finds out: no ping.
func waitForDatabase(ctx context.Context, st *store.Store, wait time.Duration, logger *slog.Logger) error {
	if wait <= 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for logged := false; ; logged = true {
		err := st.Ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the database did not answer within %s (WALKER_DB_WAIT): %w", wait, err)
		}
		if !logged {
			logger.Info("waiting for the database", "error", err.Error(), "wait", wait.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// migrate applies the migrations and, for demo, loads the demo data.
func migrate(ctx context.Context, cfg config, logger *slog.Logger, demo bool) error {
	st, err := openStore(ctx, cfg, logger, metrics.NewRegistry(), true, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if !demo {
		logger.Info("migrations applied", "vendor", st.Vendor())
		return nil
	}
	n, err := st.LoadDemo(ctx)
	if err != nil {
		return err
	}
	logger.Info("demo data loaded", "created", n)
	return nil
}

func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	var tr *tracing.Tracing
	if cfg.Tracing {
		var err error
		if tr, err = tracing.New(ctx, version, logger); err != nil {
			return err
		}
		defer func() {
			// The spans of the last requests, sent before the process ends.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tr.Shutdown(ctx); err != nil {
				logger.Warn("tracing shutdown", "error", err.Error())
			}
		}()
	}
	reg := metrics.NewRegistry()
	st, err := openStore(ctx, cfg, logger, reg, cfg.Migrate, tr)
	if err != nil {
		return err
	}
	defer st.Close()

	secret := []byte(cfg.SecretKey)
	if len(secret) == 0 {
		// Fine for one process; several replicas need a shared key or their
		// CSRF and flash cookies will not verify on each other.
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		logger.Warn("WALKER_SECRET_KEY is not set; using a random key for this process")
	}

	var shuttingDown atomic.Bool
	wc := web.Config{
		Store:        st,
		Walks:        metrics.NewWalks(reg),
		Logger:       logger,
		SecretKey:    secret,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Ready: func(ctx context.Context) error {
			if shuttingDown.Load() {
				return errors.New("shutting down")
			}
			return st.Ping(ctx)
		},
	}
	if cfg.HTTPMetrics {
		wc.HTTP = metrics.NewHTTP(reg)
	}
	handler := web.New(wc)
	if tr != nil {
		// Outside the HTTP instrumentation, which finds the span in the
		// request's context for its exemplars.
		wc.Walks.TraceExemplars()
		if wc.HTTP != nil {
			wc.HTTP.TraceExemplars()
		}
		handler = tr.Wrap(handler)
	}

	public := newServer(handler, logger)
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", metrics.Handler(reg, logger))
	if cfg.Pprof {
		// Only on the localhost metrics listener: nginx forwards /metrics alone.
		metricsMux.HandleFunc("/debug/pprof/", pprof.Index)
		metricsMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		metricsMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	private := newServer(metricsMux, logger)

	publicLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	metricsLn, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		publicLn.Close()
		return err
	}
	logger.Info("serving", "addr", publicLn.Addr().String(), "metrics_addr", metricsLn.Addr().String(),
		"database", st.Vendor(), "tracing", cfg.Tracing, "commit", commit)

	errc := make(chan error, 2)
	go func() { errc <- public.Serve(publicLn) }()
	go func() { errc <- private.Serve(metricsLn) }()

	select {
	case err := <-errc:
		// A listener died on its own: stop the other one and report.
		shutdown(logger, cfg.ShutdownTimeout, public, private)
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shuttingDown.Store(true)
	return shutdown(logger, cfg.ShutdownTimeout, public, private)
}

// shutdown lets in-flight requests finish, public first so that the last
// scrape can still see their effect.
func shutdown(logger *slog.Logger, timeout time.Duration, public, private *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := public.Shutdown(ctx)
	if perr := private.Shutdown(ctx); err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
