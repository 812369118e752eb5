// Command up runs the walker pod's topology on loopback, from the same
// configuration the chart renders: a throwaway PostgreSQL, the app (its
// migrate init step, then serve), the nginx sidecar with the basic-auth
// /metrics, and a Prometheus that scrapes the app through nginx with the
// chart's scrape job and the same credentials. It prints the URLs and the
// generated password; Ctrl-C stops everything and removes its state.
//
//	go run ./hack/up            # until Ctrl-C
//	go run ./hack/up --check    # bring it up, verify the scrape and auth, stop
//	go run ./hack/up --bench    # bring it up, run the load test, stop
//	go run ./hack/up --bench --scale   # and again on a real-sized database
//
// Tracing is on (the chart's tracing values) with a small OTLP receiver
// standing in for a collector: it writes the spans to traces.jsonl in the
// state folder. --bench runs with tracing off, as the chart's defaults do,
// unless --tracing is given.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/walkerhq/walker/internal/testtool"
)

type options struct {
	chart       string
	nginxPort   int
	promPort    int
	appPort     int
	metricsPort int
	check       bool
	bench       bool
	scale       bool
	benchFor    time.Duration
	profile     string
	keepState   bool
	repoRoot    string
	release     string
	namespace   string
	out         io.Writer
	scrapeWait  time.Duration
	tracing     bool
}

func main() {
	o := options{out: os.Stdout, release: "walker", namespace: "local"}
	flag.StringVar(&o.chart, "chart", "charts/walker", "the chart whose configuration to run")
	flag.IntVar(&o.nginxPort, "port", 8080, "loopback port for nginx (the pod's port http)")
	flag.IntVar(&o.promPort, "prometheus-port", 9090, "loopback port for Prometheus")
	flag.IntVar(&o.appPort, "app-port", 8000, "loopback port of the app's public listener (the chart's app.port)")
	flag.IntVar(&o.metricsPort, "metrics-port", 9000, "loopback port of the app's metrics listener (the chart's app.metricsPort)")
	flag.BoolVar(&o.check, "check", false, "verify the stack (auth, scrape) and exit")
	flag.BoolVar(&o.bench, "bench", false, "run the load test against the stack and exit")
	flag.BoolVar(&o.scale, "scale", false, "with --bench: then seed 100,000 walkers and dogs and 2,000,000 walks (200,000 in progress) and measure again, side by side")
	flag.DurationVar(&o.benchFor, "bench-duration", 15*time.Second, "length of each load run")
	flag.StringVar(&o.profile, "profile", "", "with --bench: write a CPU profile of the app during the lifecycle run to this file")
	flag.BoolVar(&o.keepState, "keep", false, "keep the state folder (logs, data) after stopping")
	flag.DurationVar(&o.scrapeWait, "scrape-wait", 60*time.Second, "how long to wait for Prometheus to report the target up")
	flag.BoolVar(&o.tracing, "tracing", true, "trace the app into a local OTLP receiver (default off with --bench)")
	flag.Parse()
	if o.bench && !flagGiven("tracing") {
		o.tracing = false // measure what the chart's defaults run
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "hack/up: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := testtool.RepoRoot()
	if err != nil {
		return err
	}
	o.repoRoot = root
	if err := os.MkdirAll(filepath.Join(root, ".tmp"), 0o755); err != nil {
		return err
	}
	state, err := os.MkdirTemp(filepath.Join(root, ".tmp"), "up-")
	if err != nil {
		return err
	}
	// nginx started as root serves from unprivileged workers, which must be
	// able to reach the materialised configuration.
	if err := os.Chmod(state, 0o755); err != nil {
		return err
	}
	st := &stack{opts: o, dir: state}
	defer func() {
		st.stop()
		if o.keepState {
			fmt.Fprintf(o.out, "state kept in %s\n", state)
		} else {
			os.RemoveAll(state)
		}
	}()
	if err := st.start(ctx); err != nil {
		st.dumpLogs(os.Stderr)
		return err
	}
	st.printSummary()
	switch {
	case o.check:
		return st.verify(ctx)
	case o.bench:
		return st.bench(ctx)
	}
	fmt.Fprintln(o.out, "Ctrl-C stops everything and removes the temporary state.")
	<-ctx.Done()
	fmt.Fprintln(o.out, "\nstopping")
	return nil
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port %d is busy (choose another with the flags): %w", port, err)
	}
	return ln.Close()
}
