package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/testtool"
)

// renderedPod is the walker pod as the chart renders it for this stack.
type renderedPod struct {
	objects       *chart.Objects
	deployment    *appsv1.Deployment
	metricsSecret *corev1.Secret
	scrapeJob     map[string]any
	jobLabel      string
	// promFeatures are the bundled Prometheus's --enable-feature flags.
	promFeatures []string
	appPort      int
	metricsPort  int
}

// renderChart runs `helm template` with the generated password and the
// bundled Prometheus on (its rendered ConfigMap carries the scrape job),
// and tracing on towards otlpEndpoint unless it is empty.
func renderChart(ctx context.Context, o options, password, otlpEndpoint string) (*renderedPod, error) {
	helm, err := testtool.Lookup("helm")
	if err != nil {
		return nil, err
	}
	if err := proc.Run(ctx, o.repoRoot, "hack/chart-deps", nil, filepath.Join(o.repoRoot, "hack", "chart-deps")); err != nil {
		return nil, err
	}
	args := []string{"--namespace", o.namespace, "--set-string", "metrics.auth.password=" + password,
		"--set", fmt.Sprintf("app.port=%d,app.metricsPort=%d", o.appPort, o.metricsPort)}
	if otlpEndpoint != "" {
		args = append(args, "--set", "tracing.enabled=true,tracing.endpoint="+otlpEndpoint)
	}
	objs, _, err := chart.Render(ctx, helm, filepath.Join(o.repoRoot, o.chart), o.release, args...)
	if err != nil {
		return nil, err
	}
	p := &renderedPod{objects: objs, appPort: o.appPort, metricsPort: o.metricsPort}
	for _, d := range objs.Deployments {
		if chart.Container(&d.Spec.Template.Spec, "nginx") != nil && chart.Container(&d.Spec.Template.Spec, "walker") != nil {
			p.deployment = d
		}
	}
	if p.deployment == nil {
		return nil, fmt.Errorf("the chart renders no Deployment with walker and nginx containers (%v)", chart.Names(objs.Deployments))
	}
	for _, v := range p.deployment.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Name == "htpasswd" {
			p.metricsSecret = objs.Secrets[v.Secret.SecretName]
		}
	}
	if p.metricsSecret == nil {
		return nil, fmt.Errorf("the nginx container mounts no htpasswd Secret the chart renders")
	}
	if p.scrapeJob, err = objs.ScrapeJob("walker"); err != nil {
		return nil, err
	}
	for _, d := range objs.Deployments {
		if c := chart.Container(&d.Spec.Template.Spec, "prometheus-server"); c != nil {
			for _, a := range c.Args {
				if strings.HasPrefix(a, "--enable-feature=") {
					p.promFeatures = append(p.promFeatures, a)
				}
			}
		}
	}
	// The job relabels job to the Service's name.
	for _, s := range objs.Services {
		if s.Labels["app.kubernetes.io/component"] == "app" {
			p.jobLabel = s.Name
		}
	}
	return p, nil
}

// appEnv is the walker container's literal environment from the chart, with
// the listeners kept on loopback (the host is not a pod).
func (p *renderedPod) appEnv(namespace string) []string {
	var env []string
	c := chart.Container(&p.deployment.Spec.Template.Spec, "walker")
	for _, e := range chart.LiteralEnv(c, "local", namespace) {
		if strings.HasPrefix(e, "DB_") {
			continue // credentials come from Secrets in the pod; here DATABASE_URL
		}
		env = append(env, e)
	}
	secretKey := p.objects.Secrets[p.deployment.Name+"-app"]
	if secretKey != nil {
		env = append(env, "WALKER_SECRET_KEY="+string(secretKey.Data["secret-key"]))
	}
	return append(env,
		fmt.Sprintf("WALKER_ADDR=127.0.0.1:%d", p.appPort),
		fmt.Sprintf("WALKER_METRICS_ADDR=127.0.0.1:%d", p.metricsPort))
}

// materialiseNginx writes the nginx container's volumes and configuration
// under dir and returns the arguments to run it with.
func (p *renderedPod) materialiseNginx(dir string, port int) ([]string, error) {
	return chart.LocalNginx(&p.deployment.Spec.Template.Spec,
		chart.Sources{ConfigMaps: p.objects.ConfigMaps, Secrets: p.objects.Secrets},
		dir, fmt.Sprintf("127.0.0.1:%d", port))
}

// prometheusConfig is the chart's walker job with a static target instead
// of Kubernetes discovery (there is no API server here), the discovery
// labels it would have set, and the password files from the metrics Secret.
func (p *renderedPod) prometheusConfig(dir string, o options) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "secret"), 0o755); err != nil {
		return "", err
	}
	job := maps.Clone(p.scrapeJob)
	delete(job, "kubernetes_sd_configs")
	delete(job, "relabel_configs")
	auth, _ := job["basic_auth"].(map[string]any)
	if auth == nil {
		return "", fmt.Errorf("the chart's scrape job has no basic_auth")
	}
	for _, f := range []string{"username_file", "password_file"} {
		path, _ := auth[f].(string)
		key := filepath.Base(path)
		val, ok := p.metricsSecret.Data[key]
		if !ok {
			return "", fmt.Errorf("basic_auth.%s %s: no key %s in the metrics Secret", f, path, key)
		}
		local := filepath.Join(dir, "secret", key)
		if err := os.WriteFile(local, val, 0o600); err != nil {
			return "", err
		}
		auth[f] = local
	}
	job["static_configs"] = []any{map[string]any{
		"targets": []string{fmt.Sprintf("127.0.0.1:%d", o.nginxPort)},
		"labels": map[string]string{
			"job": p.jobLabel, "service": p.jobLabel, "namespace": o.namespace,
			"pod": "local", "endpoint": "http",
		},
	}}
	cfg := map[string]any{
		"global":         map[string]any{"scrape_interval": "5s", "evaluation_interval": "5s"},
		"scrape_configs": []any{job},
	}
	rules, _ := filepath.Glob(filepath.Join(o.repoRoot, "monitoring", "rules", "*.yaml"))
	if len(rules) > 0 {
		cfg["rule_files"] = rules
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "prometheus.yml")
	return path, os.WriteFile(path, b, 0o644)
}
