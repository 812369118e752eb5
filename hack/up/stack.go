package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/walkerhq/walker/internal/localpg"
	"github.com/walkerhq/walker/internal/otlprecv"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/promapi"
	"github.com/walkerhq/walker/internal/testtool"
)

// stack is the running topology and where its state lives.
type stack struct {
	opts     options
	dir      string
	pg       *localpg.Cluster
	dbURL    string
	pod      *renderedPod
	app      *proc.Process
	appEnv   []string
	binary   string
	nginx    *proc.Process
	prom     *proc.Process
	promAPI  promv1.API
	otlp     *otlprecv.Receiver
	password string
	username string
}

func (s *stack) appURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.opts.nginxPort) }
func (s *stack) promURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.opts.promPort) }

// metricsURL is the app's own /metrics, without nginx.
func (s *stack) metricsURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", s.opts.metricsPort)
}

// start brings the pod's topology up, a step at a time, each timed.
func (s *stack) start(ctx context.Context) error {
	o := s.opts
	for _, p := range []int{o.nginxPort, o.promPort, o.appPort, o.metricsPort} {
		if err := portFree(p); err != nil {
			return err
		}
	}
	startOTLP := s.startOTLP
	if !o.tracing {
		startOTLP = nil
	}
	steps := []struct {
		what string
		run  func(context.Context) error
	}{
		{"building walker (the Dockerfile's make build)", s.build},
		{"starting the OTLP receiver (a collector)", startOTLP},
		{"rendering the chart (helm template)", s.render},
		{"starting PostgreSQL", s.startPostgres},
		{"walker migrate (the init container)", s.migrate},
		{"starting walker serve", s.startApp},
		{"starting nginx (the sidecar)", s.startNginx},
		{"starting Prometheus (the chart's scrape job)", s.startPrometheus},
		{"waiting for the walker target to be up", s.waitTargetUp},
	}
	for _, st := range steps {
		if st.run == nil {
			continue
		}
		t := time.Now()
		fmt.Fprintf(o.out, "%-44s", st.what+" ...")
		if err := st.run(ctx); err != nil {
			return err
		}
		fmt.Fprintf(o.out, " %s\n", time.Since(t).Round(time.Millisecond))
	}
	return nil
}

func (s *stack) build(ctx context.Context) error {
	s.binary = filepath.Join(s.dir, "walker")
	return proc.Run(ctx, s.opts.repoRoot, "make build", nil, "make", "-s", "build", "BINARY="+s.binary)
}

// startOTLP starts the receiver that stands in for a collector; the spans
// go to traces.jsonl.
func (s *stack) startOTLP(context.Context) error {
	traces, err := os.Create(filepath.Join(s.dir, "traces.jsonl"))
	if err == nil {
		s.otlp, err = otlprecv.Start(traces)
	}
	return err
}

func (s *stack) render(ctx context.Context) error {
	endpoint := ""
	if s.otlp != nil {
		endpoint = s.otlp.URL
	}
	s.password = testtool.RandomHex(12)
	pod, err := renderChart(ctx, s.opts, s.password, endpoint)
	if err != nil {
		return err
	}
	s.pod, s.username = pod, string(pod.metricsSecret.Data["username"])
	return nil
}

func (s *stack) startPostgres(ctx context.Context) error {
	var err error
	if s.pg, err = localpg.Start(ctx, "", 0); err != nil {
		return err
	}
	s.dbURL, err = s.pg.CreateDatabase(ctx, "walker", "walker", testtool.RandomHex(12))
	return err
}

func (s *stack) migrate(ctx context.Context) error {
	s.appEnv = append(s.pod.appEnv(s.opts.namespace), "DATABASE_URL="+s.dbURL)
	if s.opts.profile != "" {
		s.appEnv = append(s.appEnv, "WALKER_PPROF=true")
	}
	return proc.Run(ctx, s.dir, "walker migrate", s.appEnv, s.binary, "migrate")
}

func (s *stack) startNginx(ctx context.Context) error {
	nginxBin, err := testtool.Lookup("nginx")
	if err != nil {
		return err
	}
	nginxArgs, err := s.pod.materialiseNginx(filepath.Join(s.dir, "nginx"), s.opts.nginxPort)
	if err != nil {
		return err
	}
	if err := proc.Run(ctx, s.dir, "nginx -t on the rendered configuration", nil, append([]string{nginxBin, "-t"}, nginxArgs...)...); err != nil {
		return err
	}
	if s.nginx, err = proc.Start(s.dir, "nginx", nil, append([]string{nginxBin}, nginxArgs...)...); err != nil {
		return err
	}
	return s.nginx.WaitHTTP(ctx, s.appURL()+"/livez", 20*time.Second, 200)
}

func (s *stack) startPrometheus(ctx context.Context) error {
	promBin, err := testtool.Lookup("prometheus")
	if err != nil {
		return err
	}
	promConf, err := s.pod.prometheusConfig(filepath.Join(s.dir, "prometheus"), s.opts)
	if err != nil {
		return err
	}
	// The bundled server's feature flags (exemplar storage) as rendered.
	promArgs := append([]string{promBin,
		"--config.file=" + promConf,
		"--storage.tsdb.path=" + filepath.Join(s.dir, "prometheus", "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", s.opts.promPort),
		"--log.level=warn"}, s.pod.promFeatures...)
	if s.prom, err = proc.Start(s.dir, "prometheus", nil, promArgs...); err != nil {
		return err
	}
	if err := s.prom.WaitHTTP(ctx, s.promURL()+"/-/ready", 60*time.Second, 200); err != nil {
		return err
	}
	s.promAPI, err = promapi.New(s.promURL())
	return err
}

func (s *stack) startApp(ctx context.Context) error {
	var err error
	if s.app, err = proc.Start(s.dir, "walker", s.appEnv, s.binary, "serve"); err != nil {
		return err
	}
	return s.app.WaitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", s.opts.appPort), 20*time.Second, 200)
}

// waitTargetUp asks Prometheus until the walker job's target is up.
func (s *stack) waitTargetUp(ctx context.Context) error {
	return poll.Wait(ctx, "the walker target up", s.opts.scrapeWait, 500*time.Millisecond, func() (bool, error) {
		targets, err := s.promAPI.Targets(ctx)
		if err != nil {
			return false, err
		}
		for _, t := range targets.Active {
			if string(t.Labels["job"]) == s.pod.jobLabel && t.Health == promv1.HealthGood {
				return true, nil
			}
			err = fmt.Errorf("%s is %s (%s)", t.ScrapeURL, t.Health, t.LastError)
		}
		return false, err
	})
}

func (s *stack) printSummary() {
	w := s.opts.out
	fmt.Fprintf(w, `
walker is up (state in %s):
  app (through nginx)      %s/walks/start/
  metrics (basic auth)     %s/metrics   user %q password %q
  Prometheus targets       %s/targets
  Prometheus graph         %s/query?g0.expr=walks_started_total
  PostgreSQL               %s
`, s.dir, s.appURL(), s.appURL(), s.username, s.password, s.promURL(), s.promURL(), s.dbURL)
	if s.otlp != nil {
		fmt.Fprintf(w, `  exemplars (trace ids)    %s/api/v1/query_exemplars?query=walks_started_total
  traces (OTLP receiver)   %s  (trace_id -> the app's log: %s)
`, s.promURL(), filepath.Join(s.dir, "traces.jsonl"), s.app.Log)
	}
}

// stop ends the processes in reverse order of their start.
func (s *stack) stop() {
	for _, p := range []*proc.Process{s.prom, s.nginx, s.app} {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
	if s.otlp != nil {
		s.otlp.Close()
	}
	if s.pg != nil {
		if err := s.pg.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "hack/up: %v\n", err)
		}
	}
}

func (s *stack) dumpLogs(w io.Writer) {
	for _, p := range []*proc.Process{s.app, s.nginx, s.prom} {
		if p != nil {
			p.Tail(w, 4000)
		}
	}
}
